"""HTTP-level protections through the real app: body and query size limits enforced while reading,
CSRF on cookie-authenticated requests, CORS for a front end on its own origin, the client address
behind trusted proxies, and the session cookie's Secure flag."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from core.app import create_app
from core.households.models import Household
from core.http_security import resolve_client_ip
from tests.conftest import PASSWORD, make_family, session_token

UPDATE_CITY = 'mutation { updateHousehold(input: {city: "PIRATEVILLE"}) { city } }'
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"
FRONT = "https://famille.example.org"


def app_with(host: Any, *, community: dict | None = None, **security: Any) -> Any:
    """The real app over a copy of the test configuration with some settings changed."""
    settings = host.settings
    settings = replace(settings, security=replace(settings.security, **security),
                       community=replace(settings.community, **(community or {})))
    return create_app(replace(host, settings=settings), manage_db=False, background=False)


def client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://portail.test")


class Streamed:
    """A request body sent chunk by chunk, counting what the server pulled."""

    def __init__(self, head: bytes, filler: bytes, total: int, tail: bytes = b"", chunk: int = 64 * 1024) -> None:
        self.head, self.filler, self.total, self.tail, self.chunk = head, filler, total, tail, chunk
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        self.sent += len(self.head)
        while self.sent < self.total:
            piece = (self.filler * (self.chunk // len(self.filler) + 1))[: self.chunk]
            self.sent += len(piece)
            yield piece
        yield self.tail


# ---- 7. size limits --------------------------------------------------------------------------------
async def test_json_body_over_the_limit_is_cut_while_reading(http, settings):
    limit = settings.security.max_body_bytes
    body = Streamed(b'{"query": "{ me { id } }", "pad": "', b"x", 200 * 1024 * 1024, b'"}')
    response = await http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert body.sent <= limit + 2 * body.chunk  # stopped reading at the limit, not after 200 MB


async def test_declared_content_length_over_the_limit_is_refused_before_reading(http, settings):
    body = Streamed(b"{", b" ", 50 * 1024 * 1024)
    response = await http.post("/graphql", content=body, headers={"Content-Type": "application/json",
                                                                  "Content-Length": str(50 * 1024 * 1024)})
    assert response.status_code == 413
    assert body.sent == 0


async def test_whitespace_padded_query_and_huge_string_literal_refused(http, settings):
    padded = Streamed(b'{"query": "{ me { id } ', b" ", 50 * 1024 * 1024, b'}"}')
    response = await http.post("/graphql", content=padded, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and padded.sent <= settings.security.max_body_bytes + 2 * padded.chunk
    literal = Streamed(b'{"query": "mutation { updateHousehold(input: {city: \\"', b"A", 20 * 1024 * 1024,
                       b'\\"}) { city } }"}')
    response = await http.post("/graphql", content=literal, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and literal.sent < 20 * 1024 * 1024


async def test_query_text_limit_within_the_body_limit(http, settings):
    limit = settings.security.max_query_chars
    assert limit < settings.security.max_body_bytes
    query = "{ me { id } " + " " * limit + "}"
    response = await http.post("/graphql", json={"query": query})
    assert response.status_code == 413
    assert (await http.post("/graphql", json={"query": "{ health: __typename }"})).status_code == 200


async def test_multipart_upload_over_the_limit_is_cut_while_reading(gql, http, settings):
    user, household, _ = await make_family()
    token = await session_token(user)
    limit = settings.security.max_upload_files * settings.max_upload_bytes + settings.security.max_body_bytes
    boundary = "portailboundary"
    operations = json.dumps({"query": "mutation($file: Upload!) { uploadDocument(file: $file, typeCode: "
                                      "\"justificatif_domicile\") { id } }", "variables": {"file": None}})
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.file\"]}}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n").encode()
    body = Streamed(head, b"0", 200 * 1024 * 1024, f"\r\n--{boundary}--\r\n".encode())
    response = await http.post("/graphql", content=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {token}"})
    assert response.status_code == 413
    assert body.sent <= limit + 2 * body.chunk


# ---- 9. CSRF and CORS ---------------------------------------------------------------------------------
def multipart_fields(query: str) -> dict[str, Any]:
    return {"data": {"operations": json.dumps({"query": query, "variables": {}}), "map": "{}"},
            "files": {"unused": ("x.txt", b"x", "text/plain")}}


async def test_cookie_multipart_from_a_foreign_page_is_refused(http):
    user, household, _ = await make_family()
    cookie = {"Cookie": f"portail_session={await session_token(user)}"}
    for extra in ({"Origin": "https://evil.example"}, {}, {"Origin": "null"},
                  {"Origin": "https://evil.example", "Apollo-Require-Preflight": "1"}):
        response = await http.post("/graphql", **multipart_fields(UPDATE_CITY), headers={**cookie, **extra})
        assert response.status_code == 403, extra
        assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_REJECTED"
    response = await http.post("/graphql", content=f"query={UPDATE_CITY}".encode(),
                               headers={**cookie, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403
    assert (await Household.get(id=household.id)).city == "LATRESNE"


async def test_a_refused_request_is_read_to_its_end_before_the_403(http, settings):
    """Closing a connection with unread bytes resets it: the client would see a network error, not
    the 403. The refused body is drained, within the body limit (beyond it: the 413)."""
    user, _, _ = await make_family()
    cookie = {"Cookie": f"portail_session={await session_token(user)}", "Origin": "https://evil.example",
              "Content-Type": "multipart/form-data; boundary=x"}
    body = Streamed(b"--x\r\n", b"y", 300 * 1024, b"\r\n--x--\r\n")
    response = await http.post("/graphql", content=body, headers=cookie)
    assert response.status_code == 403 and body.sent >= 300 * 1024
    limit = settings.security.max_upload_files * settings.max_upload_bytes + settings.security.max_body_bytes
    huge = Streamed(b"--x\r\n", b"y", limit * 4, b"\r\n--x--\r\n")
    response = await http.post("/graphql", content=huge, headers=cookie)
    assert response.status_code == 413 and huge.sent < limit + 2 * 1024 * 1024


async def test_cookie_requests_the_front_end_can_send(http):
    user, household, _ = await make_family()
    cookie = {"Cookie": f"portail_session={await session_token(user)}"}
    response = await http.post("/graphql", **multipart_fields(UPDATE_CITY),
                               headers={**cookie, "Apollo-Require-Preflight": "1", "Origin": "http://portail.test"})
    assert response.status_code == 200 and response.json()["data"]["updateHousehold"]["city"] == "PIRATEVILLE"
    response = await http.post("/graphql", json={"query": UPDATE_CITY.replace("PIRATEVILLE", "LATRESNE")},
                               headers=cookie)  # JSON is never a "simple" cross-site request
    assert response.status_code == 200 and response.json()["data"]["updateHousehold"]["city"] == "LATRESNE"


async def test_bearer_requests_are_not_affected(http):
    user, _, _ = await make_family()
    response = await http.post("/graphql", **multipart_fields(UPDATE_CITY), headers={
        "Authorization": f"Bearer {await session_token(user)}", "Origin": "https://other-app.example"})
    assert response.status_code == 200 and response.json()["data"]["updateHousehold"]["city"] == "PIRATEVILLE"


async def test_cors_allow_list_for_a_front_end_with_credentials(host):
    user, _, _ = await make_family()
    async with client(app_with(host, cors_origins=(FRONT,))) as front:
        preflight = await front.options("/graphql", headers={
            "Origin": FRONT, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, apollo-require-preflight"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == FRONT
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "apollo-require-preflight" in preflight.headers["access-control-allow-headers"].lower()
        refused = await front.options("/graphql", headers={"Origin": "https://evil.example",
                                                           "Access-Control-Request-Method": "POST"})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        cookie = {"Cookie": f"portail_session={await session_token(user)}"}
        response = await front.post("/graphql", **multipart_fields(UPDATE_CITY),
                                    headers={**cookie, "Origin": FRONT, "Apollo-Require-Preflight": "1"})
        assert response.status_code == 200 and response.headers["access-control-allow-origin"] == FRONT
        assert response.json()["data"]["updateHousehold"]["city"] == "PIRATEVILLE"


# ---- 11. cookie and proxies ----------------------------------------------------------------------------
async def login_cookie(app: Any) -> str:
    async with client(app) as c:
        response = await c.post("/graphql", json={"query": LOGIN, "variables": {"e": "famille@example.org", "p": PASSWORD}})
        assert response.json()["data"]["login"]["token"]
        return response.headers["set-cookie"]


async def test_session_cookie_is_secure_when_public_url_is_https(host, app):
    await make_family()
    assert "secure" not in (await login_cookie(app)).lower()
    cookie = await login_cookie(app_with(host, community={"public_url": "https://portail.example.org"}))
    assert "secure" in cookie.lower().split("; ") and "httponly" in cookie.lower()


async def failed_logins(c: httpx.AsyncClient, count: int, forwarded: Any) -> list[str]:
    codes = []
    for i in range(count):
        response = await c.post("/graphql", json={"query": LOGIN, "variables": {"e": f"inconnu{i}@example.org", "p": "x"}},
                                headers={"X-Forwarded-For": forwarded(i)})
        codes.append(response.json()["errors"][0]["extensions"]["code"])
    return codes


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(host, http, settings):
    per_ip = settings.security.max_failed_logins_per_ip
    codes = await failed_logins(http, per_ip + 1, lambda i: f"203.0.113.{i}")  # rotating, from 127.0.0.1
    assert codes[-1] == "TOO_MANY_ATTEMPTS" and set(codes[:-1]) == {"INVALID_CREDENTIALS"}


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(host, settings):
    per_ip = settings.security.max_failed_logins_per_ip
    async with client(app_with(host, trusted_proxies=("127.0.0.1",))) as behind_proxy:
        codes = await failed_logins(behind_proxy, per_ip + 1, lambda i: f"spoofed-{i}, 198.51.100.7")
        assert codes[-1] == "TOO_MANY_ATTEMPTS"  # the client cannot escape by writing its own header
        codes = await failed_logins(behind_proxy, 2, lambda i: "198.51.100.8")
        assert codes == ["INVALID_CREDENTIALS"] * 2  # another client behind the same proxy


@pytest.mark.parametrize(("peer", "header", "trusted", "expected"), [
    ("127.0.0.1", "203.0.113.9", (), "127.0.0.1"),
    ("10.0.0.2", "203.0.113.9", ("127.0.0.1",), "10.0.0.2"),
    ("127.0.0.1", "203.0.113.9", ("127.0.0.1",), "203.0.113.9"),
    ("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.3", ("10.0.0.0/8",), "203.0.113.9"),
    ("127.0.0.1", "", ("127.0.0.1",), "127.0.0.1"),
    ("::1", "2001:db8::5", ("::1",), "2001:db8::5"),
])
def test_resolve_client_ip(peer, header, trusted, expected):
    assert resolve_client_ip(peer, header, trusted) == expected


async def test_websocket_handshake_only_from_allowed_origins(host):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    from tests.messagerie.test_realtime import serve

    async with serve(app_with(host, cors_origins=(FRONT,))) as address:
        async with connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"], origin=FRONT) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{address}/graphql", subprotocols=["graphql-transport-ws"],
                               origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403


# ---- requests refused before GraphQL runs: JSON, a code, a French message ------------------------------
@pytest.mark.parametrize("send, status, code, words", [
    (lambda http: http.post("/graphql", content=b"{pas du json", headers={"Content-Type": "application/json"}),
     400, "BAD_REQUEST", "JSON valide"),
    (lambda http: http.post("/graphql", json={"variables": {}}), 400, "BAD_REQUEST", "document GraphQL"),
    (lambda http: http.post("/graphql", json={"query": "{ me { id } }", "variables": [1]}), 400, "BAD_REQUEST",
     "« variables »"),
    (lambda http: http.post("/graphql", json={"query": "query A { me { id } }", "operationName": "B"}), 400,
     "BAD_REQUEST", "operationName"),
    (lambda http: http.get("/graphql", params={"query": "mutation { logout { ok } }"},
                           headers={"Accept": "application/json"}), 400, "BAD_REQUEST", "POST"),
    (lambda http: http.post("/graphql", json={"query": "{ me { id } " + " " * 200_000 + "}"}), 413,
     "REQUEST_TOO_LARGE", "caractères"),
])
async def test_refused_requests_answer_json_errors(http, send, status, code, words):
    response = await send(http)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code and words in error["message"], error


async def test_answers_are_utf8_json_and_any_value_still_encodes(http, host):
    """Answers are compact JSON with accents as UTF-8 (orjson); a value orjson refuses (an integer
    past 64 bits, from a plugin's custom scalar) is still encoded, by the standard library."""
    from core.graphql_support import PortailGraphQL
    from schema import build_schema

    response = await http.post("/graphql", json={"query": "{ myHousehold { id } }"})
    assert response.headers["content-type"].startswith("application/json")
    assert "é".encode() in response.content and b"\\u00e9" not in response.content  # « Vous devez être connecté »
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    view = PortailGraphQL(build_schema(host), host)
    assert json.loads(view.encode_json({"data": {"big": 2**70, "name": "Léa"}})) == {"data": {"big": 2**70,
                                                                                          "name": "Léa"}}
