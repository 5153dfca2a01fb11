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
    TemplateNotFound,
    select_autoescape,
)
from markupsafe import Markup, escape

from core import formatting

CORE_TEMPLATES = Path(__file__).with_name("templates")
_env: Environment | None = None


def build_environment(plugin_dirs: dict[str, str]) -> Environment:
    loader = ChoiceLoader([
        FileSystemLoader(str(CORE_TEMPLATES)),
        PrefixLoader({prefix: FileSystemLoader(path) for prefix, path in plugin_dirs.items()}),
    ])
    # Templates ship with the code: compiled once per process, never stat'ed again on each render
    # (auto_reload would check every file's mtime per mail: 10,000 times for one SEPA batch).
    env = Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False, cache_size=1000)
    env.filters.update(euros=formatting.euros, date_fr=formatting.date_fr, date_long=formatting.date_long,
                       month_year=formatting.month_year, datetime_fr=formatting.datetime_fr)
    env.filters["mail_paragraphs"] = mail_paragraphs
    return env


def mail_paragraphs(text: str) -> Markup:
    """The HTML body of a mail from its text: one `<p>` per paragraph, `<br>` between lines, a line
    that is a link made clickable, all escaped. Python rather than a Jinja loop over every line: a
    batch renders 10,000 of them (`mail/_layout.html` puts the first paragraph on its indented line)."""
    paragraphs = []
    # escaped once: escaping leaves newlines and "http://" / "https://" as they are
    for paragraph in str(escape(text)).split("\n\n"):
        lines = [f'<a href="{line}">{line}</a>' if line.startswith(("http://", "https://")) else line
                 for line in paragraph.split("\n")]
        paragraphs.append(f"<p>{'<br>'.join(lines)}</p>")
    return Markup("\n    ".join(paragraphs))


_exists: dict[str, bool] = {}


def configure(plugin_dirs: dict[str, str]) -> None:
    global _env
    _env = build_environment(plugin_dirs)
    _exists.clear()


def _environment() -> Environment:
    global _env
    if _env is None:
        _env = build_environment({})
    return _env


def exists(name: str) -> bool:
    """Whether template `name` exists (looked up once per name: an optional template, such as a mail's
    HTML part, is not searched for again, with an exception, for each of 10,000 mails)."""
    found = _exists.get(name)
    if found is None:
        try:
            _environment().get_template(name)
            found = True
        except TemplateNotFound:
            found = False
        _exists[name] = found
    return found


def render(name: str, context: dict[str, Any]) -> str:
    return _environment().get_template(name).render(**context)
