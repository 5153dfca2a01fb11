"""PDF rendering: a Jinja HTML template (core or plugin, see `core.templating`) through xhtml2pdf.

xhtml2pdf is pure-Python CPU work (tens to hundreds of ms per page): it runs in a worker thread so
that one download does not stall every other request of the process.
"""

from __future__ import annotations

import asyncio
import io
import threading
from typing import Any

from xhtml2pdf import pisa

from core.config import get_settings
from core.errors import PortailError
from core.templating import render

# reportlab keeps some module-level state (fonts, caches): one rendering at a time per process.
_RENDER_LOCK = threading.Lock()


def _html_to_pdf(html: str) -> bytes:
    out = io.BytesIO()
    with _RENDER_LOCK:
        status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if status.err:
        raise PortailError("Le PDF n'a pas pu être généré.", code="PDF_ERROR")
    return out.getvalue()


async def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    """Render `template` with `context` (plus the community) to PDF bytes, off the event loop."""
    settings = get_settings()
    html = render(template, {"community": settings.community, **context})
    return await asyncio.to_thread(_html_to_pdf, html)
