"""Real-time fan-out of "new message" events between server processes.

A backend has two operations: `await publish(event)` (call it AFTER the transaction committed) and
`subscribe()`, an async iterator of events. Each process keeps ONE listener connection to the broker
(Redis pub/sub or PostgreSQL LISTEN/NOTIFY), opened with the first subscriber and closed with the
last one, and fans events out to its local subscribers' queues. `MemoryBackend` never leaves the
process: only for single-process SQLite development.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from plugins.messagerie.rules import choose_backend

log = logging.getLogger("portail.messagerie.realtime")
CHANNEL = "portail_messagerie"
QUEUE_SIZE = 1000


class RealtimeBackend:
    """Base: local fan-out of events to the subscribers of this process."""

    name = "base"

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._lock = asyncio.Lock()
        self.ready = False

    @property
    def subscriber_count(self) -> int:
        return len(self._queues)

    def _dispatch(self, event: dict[str, Any]) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stuck client loses events, the others don't wait for it
                log.warning("realtime subscriber queue full, event dropped")

    async def _start(self) -> None:
        """Open the listener connection (broker backends)."""

    async def _stop(self) -> None:
        """Close the listener connection (broker backends)."""

    async def publish(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    async def subscribe(self) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        async with self._lock:
            if not self._queues:
                await self._start()
                self.ready = True
            self._queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            async with self._lock:
                self._queues.discard(queue)
                if not self._queues:
                    self.ready = False
                    await self._stop()

    async def close(self) -> None:
        async with self._lock:
            self._queues.clear()
            self.ready = False
            await self._stop()


class MemoryBackend(RealtimeBackend):
    """In-process only: correct for one server process (SQLite development), wrong for several."""

    name = "memory"

    async def publish(self, event: dict[str, Any]) -> None:
        self._dispatch(event)


class RedisBackend(RealtimeBackend):
    """Redis pub/sub (redis.asyncio): PUBLISH per event, one SUBSCRIBE connection per process."""

    name = "redis"

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        super().__init__()
        self.url = url
        self.channel = channel
        self._publisher: Any = None
        self._listener: Any = None
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def publish(self, event: dict[str, Any]) -> None:
        import redis.asyncio as redis

        if self._publisher is None:
            self._publisher = redis.from_url(self.url)
        await self._publisher.publish(self.channel, json.dumps(event))

    async def _start(self) -> None:
        import redis.asyncio as redis

        self._listener = redis.from_url(self.url)
        self._pubsub = self._listener.pubsub(ignore_subscribe_messages=False)
        await self._pubsub.subscribe(self.channel)
        # Wait for the server's confirmation: from now on no published event can be missed.
        while True:
            message = await self._pubsub.get_message(timeout=5.0)
            if message is None:
                raise RuntimeError("Redis: pas de confirmation d'abonnement")
            if message.get("type") == "subscribe":
                break
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self._pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    self._dispatch(json.loads(message["data"]))
                except (ValueError, TypeError):
                    log.warning("malformed realtime event ignored")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("redis realtime listener stopped")

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(self.channel)
                await self._pubsub.aclose()
            self._pubsub = None
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.aclose()
            self._listener = None

    async def close(self) -> None:
        await super().close()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None


class PostgresBackend(RealtimeBackend):
    """PostgreSQL LISTEN/NOTIFY: `pg_notify` on the ORM connection, one asyncpg LISTEN connection per
    process (`add_listener`)."""

    name = "postgres"

    def __init__(self, database_url: str, channel: str = CHANNEL) -> None:
        super().__init__()
        self.dsn = database_url.replace("postgres://", "postgresql://", 1)
        self.channel = channel
        self._conn: Any = None

    async def publish(self, event: dict[str, Any]) -> None:
        from tortoise import connections

        await connections.get("default").execute_query("SELECT pg_notify($1, $2)", [self.channel, json.dumps(event)])

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._dispatch(json.loads(payload))
        except (ValueError, TypeError):
            log.warning("malformed realtime event ignored")

    async def _start(self) -> None:
        import asyncpg

        self._conn = await asyncpg.connect(self.dsn)
        await self._conn.add_listener(self.channel, self._on_notify)  # LISTEN is active on return

    async def _stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.remove_listener(self.channel, self._on_notify)
                await self._conn.close()
            self._conn = None


def make_backend(config: dict[str, Any], database_url: str) -> RealtimeBackend:
    kind = choose_backend(config, database_url)
    channel = str(config.get("realtime_channel", CHANNEL))
    if kind == "redis":
        return RedisBackend(str(config["redis_url"]), channel)
    if kind == "postgres":
        return PostgresBackend(database_url, channel)
    return MemoryBackend()


def backend_for(host: Any = None) -> RealtimeBackend:
    """The backend of a plugin host (one per server app), created on first use."""
    if host is None:
        from core.plugins import get_host

        host = get_host()
    backend = getattr(host, "_messagerie_realtime", None)
    if backend is None:
        backend = make_backend(host.settings.plugin_config("messagerie"), host.settings.database_url)
        host._messagerie_realtime = backend
    return backend


async def publish_safely(event: dict[str, Any], host: Any = None) -> None:
    """Publish after commit; a broker outage must not turn a saved message into an error."""
    try:
        await backend_for(host).publish(event)
    except Exception:
        log.exception("realtime publish failed (message saved, live update lost)")
