"""One read per request: a memo that lives for one GraphQL query operation.

The home page asks for `home` (alerts, children), the household file and the documents in one
request; each reads the same household bundle. `memoised(key, load)` runs `load()` once per key
and request and hands the same result to every resolver (concurrent ones wait for the first load).
Only query operations get a memo (`RequestMemo` extension): a mutation always reads fresh rows, and
outside a request (CLI, scheduler, tests calling services) `memoised` simply calls `load()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

T = TypeVar("T")
_memo: ContextVar[dict[Hashable, asyncio.Future[Any]] | None] = ContextVar("portail_request_memo", default=None)


async def memoised(key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    memo = _memo.get()
    if memo is None:
        return await load()
    future = memo.get(key)
    if future is None:
        future = memo[key] = asyncio.ensure_future(load())
    return await asyncio.shield(future)


class RequestMemo(SchemaExtension):
    """Gives each query operation its own memo (dropped when the operation ends)."""

    def on_execute(self) -> Iterator[None]:
        try:
            is_query = self.execution_context.operation_type == OperationType.QUERY
        except RuntimeError:  # no operation (unparsable document): nothing runs
            is_query = False
        if not is_query:
            yield
            return
        token = _memo.set({})
        try:
            yield
        finally:
            _memo.reset(token)
