"""GraphQL over HTTP for tests: `await gql.data(query, **variables)` returns `data` or fails showing
the errors; `await gql.code(query, **variables)` is the machine code of a call that must fail."""

from __future__ import annotations

import json
from typing import Any

import httpx


class GraphQLClient:
    """A client over the real ASGI app (`http` fixture); anonymous until `await gql.as_user(user)`."""

    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    def with_token(self, token: str | None) -> GraphQLClient:
        """The same client acting with this session token (None: anonymous)."""
        return GraphQLClient(self.http, token)

    async def as_user(self, user: Any) -> GraphQLClient:
        """The same client logged in as `user` (a fresh session, without going through argon2)."""
        from core.testing.factories import session_token

        return self.with_token(await session_token(user))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole GraphQL response (`{"data": …, "errors": […]}`); HTTP must answer 200."""
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers=self._headers())
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """`data` of a call that must succeed (the test fails with the errors otherwise)."""
        result = await self.execute(query, variables)
        assert not result.get("errors"), json.dumps(result["errors"], ensure_ascii=False, indent=1)
        return result["data"]

    ok = data  # the name the project's own tests use

    async def error(self, query: str, **variables: Any) -> dict[str, Any]:
        """The first error (message + extensions) of a call that must fail."""
        result = await self.execute(query, variables)
        assert result.get("errors"), f"expected an error, got {result.get('data')}"
        return result["errors"][0]

    async def code(self, query: str, **variables: Any) -> str:
        """`extensions.code` of the first error of a call that must fail (`NOT_FOUND`, `FORBIDDEN`…)."""
        return (await self.error(query, **variables))["extensions"]["code"]

    async def upload(self, query: str, variables: dict[str, Any], files: dict[str, tuple[str, bytes, str]]) -> dict[str, Any]:
        """GraphQL multipart request: `files` maps a variable path ("file") to (name, bytes, content type)."""
        file_map = {str(i): [f"variables.{path}"] for i, path in enumerate(files)}
        for path in files:
            variables = {**variables, path.split(".")[0]: None} if "." not in path else variables
        operations = json.dumps({"query": query, "variables": variables})
        multipart = {str(i): spec for i, spec in enumerate(files.values())}
        response = await self.http.post("/graphql", data={"operations": operations, "map": json.dumps(file_map)},
                                        files=multipart, headers={**self._headers(), "Apollo-Require-Preflight": "1"})
        assert response.status_code == 200, response.text
        return response.json()

    async def download(self, url: str) -> httpx.Response:
        """GET a file URL given by the API (`/files/<kind>/<id>`) with this client's session."""
        return await self.http.get(url, headers=self._headers())
