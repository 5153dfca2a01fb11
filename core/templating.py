"""One Jinja environment for mail and PDF templates of core and every enabled plugin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    select_autoescape,
)

from core import formatting

CORE_TEMPLATES = Path(__file__).with_name("templates")
_env: Environment | None = None


def build_environment(plugin_dirs: dict[str, str]) -> Environment:
    loader = ChoiceLoader([
        FileSystemLoader(str(CORE_TEMPLATES)),
        PrefixLoader({prefix: FileSystemLoader(path) for prefix, path in plugin_dirs.items()}),
    ])
    env = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(euros=formatting.euros, date_fr=formatting.date_fr, date_long=formatting.date_long,
                       month_year=formatting.month_year, datetime_fr=formatting.datetime_fr)
    return env


def configure(plugin_dirs: dict[str, str]) -> None:
    global _env
    _env = build_environment(plugin_dirs)


def render(name: str, context: dict[str, Any]) -> str:
    global _env
    if _env is None:
        _env = build_environment({})
    return _env.get_template(name).render(**context)
