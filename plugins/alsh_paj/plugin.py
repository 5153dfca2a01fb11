"""Hook implementations of the alsh_paj plugin."""

from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl

APP = "alsh_paj"


@hookimpl
def portail_models() -> dict[str, list[str]]:
    return {APP: ["plugins.alsh_paj.models"]}


@hookimpl
def portail_template_dirs() -> dict[str, str]:
    return {APP: str(Path(__file__).with_name("templates"))}
