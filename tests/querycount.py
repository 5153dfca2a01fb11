"""Moved to `core.testing` (shipped with the package, usable by plugin projects); kept for old imports."""

from core.testing.querycount import QueryLog, count_queries

__all__ = ["QueryLog", "count_queries"]
