"""Moved to `core.testing.client` (shipped with the package, usable by plugin projects)."""

from core.testing.client import GraphQLClient

__all__ = ["GraphQLClient"]
