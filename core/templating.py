"""One Jinja environment for mail and PDF templates of core and every enabled plugin."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)
from markupsafe import Markup, escape

from core import formatting

CORE_TEMPLATES = Path(__file__).with_name("templates")
_env: Environment | None = None


class _Environment(Environment):
    """Each template's globals as one plain dict instead of Jinja's ChainMap over the environment's:
    every render copies them, and iterating a ChainMap cost more than the rest of rendering a mail
    subject. The environment's globals are all set before any template is loaded (`build_environment`)."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


def build_environment(plugin_dirs: dict[str, str]) -> Environment:
    loader = ChoiceLoader([
        FileSystemLoader(str(CORE_TEMPLATES)),
        PrefixLoader({prefix: FileSystemLoader(path) for prefix, path in plugin_dirs.items()}),
    ])
    # Templates ship with the code: compiled once per process, never stat'ed again on each render
    # (auto_reload would check every file's mtime per mail: 10,000 times for one SEPA batch).
    env = _Environment(loader=loader, autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False, cache_size=1000)
    env.filters.update(euros=formatting.euros, date_fr=formatting.date_fr, date_long=formatting.date_long,
                       month_year=formatting.month_year, datetime_fr=formatting.datetime_fr)
    env.filters["mail_paragraphs"] = mail_paragraphs
    return env


def mail_paragraphs(text: str) -> Markup:
    """The HTML body of a mail from its text: one `<p>` per paragraph, `<br>` between lines, a line
    that is a link made clickable, all escaped. Python rather than a Jinja loop over every line: a
    batch renders 10,000 of them (`mail/_layout.html` puts the first paragraph on its indented line)."""
    # escaped once: escaping leaves newlines and "http://" / "https://" as they are
    return Markup("\n    ".join([_paragraph(paragraph) for paragraph in str(escape(text)).split("\n\n")]))


_PARAGRAPHS_KEPT = 256


def _paragraph(text: str) -> str:
    """One escaped paragraph as HTML, memoised: in a batch of mails most paragraphs (greeting,
    footer, signature) are the same text."""
    html = _paragraphs.get(text)
    if html is None:
        lines = [f'<a href="{line}">{line}</a>' if line.startswith(("http://", "https://")) else line
                 for line in text.split("\n")]
        html = f"<p>{'<br>'.join(lines)}</p>"
        if len(_paragraphs) >= _PARAGRAPHS_KEPT:
            _paragraphs.clear()
        _paragraphs[text] = html
    return html


_paragraphs: dict[str, str] = {}


# Templates by name, looked up in a plain dict: Jinja's own cache takes a lock and reorders its LRU
# queue on every hit, three times per mail of a 10,000-mail batch. None: no such template.
_templates: dict[str, Template | None] = {}


def configure(plugin_dirs: dict[str, str]) -> None:
    global _env
    _env = build_environment(plugin_dirs)
    _templates.clear()


def _environment() -> Environment:
    global _env
    if _env is None:
        _env = build_environment({})
    return _env


def _template(name: str) -> Template | None:
    if name in _templates:
        return _templates[name]
    try:
        found: Template | None = _environment().get_template(name)
    except TemplateNotFound:
        found = None
    _templates[name] = found
    return found


def exists(name: str) -> bool:
    """Whether template `name` exists (looked up once per name: an optional template, such as a mail's
    HTML part, is not searched for again, with an exception, for each of 10,000 mails)."""
    return _template(name) is not None


def render(name: str, context: dict[str, Any]) -> str:
    template = _template(name)
    if template is None:
        raise TemplateNotFound(name)
    return template.render(context)
