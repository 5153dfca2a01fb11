"""The per-request GraphQL context: the caller, per-request DataLoaders, the plugin host."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from core.permissions import Actor
from core.plugins import PluginHost


@dataclass
class Context:
    request: Any
    response: Response | None
    actor: Actor
    host: PluginHost
    loaders: dict[str, DataLoader] = field(default_factory=dict)
    # Cookies the resolvers want set/cleared on the HTTP response (login, logout).
    # graphql-transport-ws `connection_init` payload (WebSocket clients may send their token there).
    connection_params: dict[str, Any] | None = None

    def loader(self, key: str, load_fn: Callable[[list[Any]], Any]) -> DataLoader:
        """A DataLoader that lives for this request only, created on first use."""
        if key not in self.loaders:
            self.loaders[key] = DataLoader(load_fn=load_fn)
        return self.loaders[key]

    @property
    def settings(self):
        return self.host.settings


def client_ip(request: Request | Any) -> str:
    """The caller's address, already resolved behind trusted proxies by `ClientAddressMiddleware`."""
    client = getattr(request, "client", None)
    return client.host if client else ""
