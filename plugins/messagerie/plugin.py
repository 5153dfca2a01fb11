"""Hook implementations of the messagerie plugin."""

from __future__ import annotations

from pathlib import Path

from core.hookspecs import hookimpl

APP = "messagerie"


@hookimpl
def portail_models() -> dict[str, list[str]]:
    return {APP: ["plugins.messagerie.models"]}


@hookimpl
def portail_template_dirs() -> dict[str, str]:
    return {APP: str(Path(__file__).with_name("templates"))}
