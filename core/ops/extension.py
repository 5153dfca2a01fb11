"""The GraphQL side of observability: operation name, outcome and latency of each operation, for
the request's log line and the Prometheus counters. Never the document nor the variables."""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from core.errors import PortailError
from core.ops import metrics
from core.ops.logs import REQUEST

LOGIN_REFUSALS = {"INVALID_CREDENTIALS": "invalid_credentials", "TOO_MANY_ATTEMPTS": "throttled"}


def outcome_of(errors: list[GraphQLError] | None) -> str:
    """ok / rejected (an expected error with its code) / invalid (parse, validation, limits) /
    internal_error (a bug: answered INTERNAL_SERVER_ERROR)."""
    if not errors:
        return "ok"
    kinds = set()
    for error in errors:
        original = error.original_error
        if isinstance(original, PortailError):
            kinds.add("rejected")
        elif original is None or not error.path:
            kinds.add("invalid")
        else:
            kinds.add("internal_error")
    for kind in ("internal_error", "invalid", "rejected"):
        if kind in kinds:
            return kind
    return "ok"


class OperationObserver(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        result = context.result
        errors = (getattr(result, "errors", None) or None) or getattr(context, "errors", None)
        try:
            operation = metrics.operation_label(context.operation_name)
        except Exception:  # an unparsable document has no operation
            operation = "anonymous"
        outcome = outcome_of(errors)
        seconds = time.perf_counter() - started
        metrics.REQUESTS.labels(operation, outcome).inc()
        metrics.LATENCY.labels(operation).observe(seconds)
        for error in errors or ():
            reason = LOGIN_REFUSALS.get(getattr(error.original_error, "code", ""))
            if reason:
                metrics.LOGIN_FAILURES.labels(reason).inc()
        current = REQUEST.get()
        if current is not None:
            current["operation"], current["outcome"] = operation, outcome
