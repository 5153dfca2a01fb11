"""PDF rendering: a Jinja HTML template (core or plugin, see `core.templating`) through xhtml2pdf."""

from __future__ import annotations

import io
from typing import Any

from xhtml2pdf import pisa

from core.config import get_settings
from core.errors import PortailError
from core.templating import render


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    settings = get_settings()
    html = render(template, {"community": settings.community, **context})
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if status.err:
        raise PortailError("Le PDF n'a pas pu être généré.", code="PDF_ERROR")
    return out.getvalue()
