"""Every GraphQL example in the README and docs/ validates against the served schema: a front-end
developer copying one never meets a renamed field (blocks that are not whole documents are `text`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```graphql\n(.*?)```", re.S)


def _examples() -> list:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text[:match.start()].count("\n") + 1
            out.append(pytest.param(match.group(1), id=f"{path.relative_to(ROOT)}:{line}"))
    return out


@pytest.mark.parametrize("document", _examples())
def test_documented_graphql_example_is_valid(host, document):
    from schema import build_schema

    errors = validate(build_schema(host)._schema, parse(document))
    assert errors == [], [e.message for e in errors]
