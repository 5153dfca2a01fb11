"""The project's tests run on Portail's own pytest plugin (core/testing/plugin.py, loaded through its
`pytest11` entry point): `settings`, `host`, `database`, `clean_db`, `app`, `http`, `gql`,
`smtp_server`, `mailbox`, `clock`, `--today`. Only what is specific to this repository goes here.

The helpers are re-exported so that `from tests.conftest import make_family` keeps working; new code
imports them from `core.testing`."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from core.testing import (  # noqa: F401  (re-exported for the tests)
    PASSWORD,
    Clock,
    Mailbox,
    free_port,
    make_family,
    make_staff,
    password_hash,
    session_token,
    uses_service,
)


def _plugin_autoloaded() -> bool:
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return any(ep.name == "portail" for ep in entry_points(group="pytest11"))


if not _plugin_autoloaded():  # a virtualenv installed before the entry point came: load it from here
    pytest_plugins = ["core.testing.plugin"]
