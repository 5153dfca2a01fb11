"""Testing helpers shipped with Portail Famille, for the project's own tests and for plugin projects.

The pytest plugin (`core.testing.plugin`, entry point `pytest11: portail`, loaded automatically once
portail-famille is installed) provides the fixtures: `portail_plugins`, `portail_config`,
`portail_extra_plugins`, `settings`, `host`, `database`, `clean_db` (autouse), `app`, `http`, `gql`,
`smtp_server`, `mailbox`, `clock`, and the `--today` option. docs/plugins.md, "Testing a plugin".

The helpers below are importable from here: `from core.testing import make_family, GraphQLClient`.
They are loaded on first use, so that pytest can rewrite their asserts.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GraphQLClient": "client",
    "Mailbox": "mail",
    "free_port": "mail",
    "start_smtp_server": "mail",
    "Clock": "clock",
    "install_clock": "clock",
    "PASSWORD": "factories",
    "password_hash": "factories",
    "make_family": "factories",
    "make_staff": "factories",
    "session_token": "factories",
    "uses_service": "factories",
    "count_queries": "querycount",
    "QueryLog": "querycount",
    "make_settings": "environment",
    "reset_database": "environment",
    "empty_tables": "environment",
    "create_tables": "environment",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'core.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"core.testing.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
