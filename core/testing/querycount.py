"""Count the SQL statements a block of code sends (to prove list queries don't grow with rows).

    with count_queries() as log:
        await gql.ok(QUERY)
    assert log.count <= 4, log.statements
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

from tortoise import connections

_METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script")


@dataclass
class QueryLog:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def count_queries() -> Iterator[QueryLog]:
    """Patch the client class of the default connection (transactions reuse the same class)."""
    log = QueryLog()
    client_cls = type(connections.get("default"))
    originals = {name: getattr(client_cls, name) for name in _METHODS}
    depth: contextvars.ContextVar[int] = contextvars.ContextVar("querycount_depth", default=0)

    def wrap(name: str):
        original = originals[name]

        async def counted(self, query, *args, **kwargs):
            # execute_query_dict calls execute_query internally on some backends: count once.
            if depth.get() == 0:
                log.statements.append(str(query))
            token = depth.set(depth.get() + 1)
            try:
                return await original(self, query, *args, **kwargs)
            finally:
                depth.reset(token)

        return counted

    for name in _METHODS:
        setattr(client_cls, name, wrap(name))
    try:
        yield log
    finally:
        for name, original in originals.items():
            setattr(client_cls, name, original)
