"""Real time across server processes: two separate app instances (two plugin hosts, two uvicorn
servers on free ports) share only the database and the broker. A family subscribed over WebSocket
on instance A receives the answer an agent posts through instance B — through Redis pub/sub, and
through PostgreSQL LISTEN/NOTIFY when the tests run on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect

from core.app import create_app
from core.plugins import load_plugins
from plugins.messagerie.realtime import backend_for
from tests.conftest import free_port, make_family, make_staff, session_token
from tests.messagerie.conftest import CRECHE, REPLY, START

SUBSCRIPTION = """subscription { messagerieMessageReceived { threadId message { body authorSide authorName } } }"""
BACKENDS = ["redis", pytest.param("postgres", marks=pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL only"))]


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def subscribe(address: str, *, header_token: str | None = None, payload_token: str | None = None):
    headers = {"Authorization": f"Bearer {header_token}"} if header_token else {}
    async with connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"],
                       additional_headers=headers) as ws:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload_token:
            init["payload"] = {"authorization": f"Bearer {payload_token}"}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        yield ws


async def wait_listening(backend: Any, subscribers: int) -> None:
    for _ in range(250):
        if backend.ready and backend.subscriber_count >= subscribers:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{backend.name} backend not listening ({backend.subscriber_count} subscribers)")


async def next_event(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 5.0))
    assert message["type"] == "next", message
    return message["payload"]["data"]["messagerieMessageReceived"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_subscriber_on_instance_a_receives_message_posted_on_instance_b(settings, backend):
    config = {"realtime_backend": backend, "redis_url": "redis://127.0.0.1:6379/0",
              "realtime_channel": f"test_messagerie_{uuid.uuid4().hex[:8]}"}
    raw = {**settings.raw, "plugin": {**settings.raw.get("plugin", {}), "messagerie": config}}
    shared = replace(settings, raw=raw)
    host_a, host_b = load_plugins(shared), load_plugins(shared)  # two instances, nothing shared in memory
    app_a = create_app(host_a, manage_db=False, background=False)
    app_b = create_app(host_b, manage_db=False, background=False)
    backend_a, backend_b = backend_for(host_a), backend_for(host_b)
    assert backend_a is not backend_b and backend_a.name == backend

    user, _, _ = await make_family("parent@example.org")
    other_family, _, _ = await make_family("autre@example.org", name="MARTIN")
    agent = await make_staff("creche@example.org", services=[CRECHE])
    sport_agent = await make_staff("sport@example.org", services=["sport"])
    family_token, agent_token = await session_token(user), await session_token(agent)

    try:
        async with serve(app_a) as address_a, serve(app_b) as address_b, \
                httpx.AsyncClient(base_url=f"http://{address_b}") as instance_b:
            async def post(token: str, query: str, **variables: Any) -> dict[str, Any]:
                response = await instance_b.post("/graphql", json={"query": query, "variables": variables},
                                                 headers={"Authorization": f"Bearer {token}"})
                body = response.json()
                assert not body.get("errors"), body
                return body["data"]

            thread = (await post(family_token, START, service=CRECHE, body="Bonjour"))["startMessagerieThread"]

            async with subscribe(address_a, header_token=family_token) as family_ws, \
                    subscribe(address_a, payload_token=agent_token) as agent_ws, \
                    subscribe(address_a, header_token=await session_token(sport_agent)) as sport_ws, \
                    subscribe(address_a, header_token=await session_token(other_family)) as other_ws:
                await wait_listening(backend_a, 4)
                assert backend_b.subscriber_count == 0  # B has no subscriber: delivery went via the broker

                await post(agent_token, REPLY, id=thread["id"], body="Réponse de la crèche")
                event = await next_event(family_ws)
                assert event == {"threadId": thread["id"], "message": {
                    "body": "Réponse de la crèche", "authorSide": "SERVICE", "authorName": "Agent TEST"}}
                assert (await next_event(agent_ws))["message"]["body"] == "Réponse de la crèche"

                await post(family_token, REPLY, id=thread["id"], body="Merci beaucoup")
                assert (await next_event(agent_ws))["message"]["body"] == "Merci beaucoup"
                assert (await next_event(family_ws))["message"]["authorSide"] == "FAMILY"

                # Another service's agent and another family receive nothing.
                for ws in (sport_ws, other_ws):
                    with pytest.raises(asyncio.TimeoutError):
                        await asyncio.wait_for(ws.recv(), 0.5)
            # Last subscriber gone: the listener connection is closed.
            for _ in range(100):
                if not backend_a.ready:
                    break
                await asyncio.sleep(0.02)
            assert not backend_a.ready and backend_a.subscriber_count == 0
    finally:
        await backend_a.close()
        await backend_b.close()


async def test_subscription_requires_login(app):
    async with serve(app) as address, subscribe(address) as ws:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
