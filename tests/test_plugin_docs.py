"""The plugin author's guide keeps up with the hookspecs: every hook of core/hookspecs.py has its
section (a heading naming it) in docs/plugins.md or docs/plugins-extension-points.md."""

from __future__ import annotations

import re
from pathlib import Path

from core import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_hook_has_a_section_in_the_plugin_guide():
    headings = [line for name in ("plugins.md", "plugins-extension-points.md") if (DOCS / name).exists()
                for line in (DOCS / name).read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    hooks = sorted(name for name in vars(hookspecs) if name.startswith("portail_"))
    assert len(hooks) >= 18
    missing = [hook for hook in hooks if not any(re.search(rf"`{hook}[(`]", line) for line in headings)]
    assert missing == [], f"hooks without a section in docs/plugins.md: {missing}"
