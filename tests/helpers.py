"""GraphQL over HTTP for tests: `await gql.ok(query, **vars)` returns data or fails with the errors."""

from __future__ import annotations

import json
from typing import Any

import httpx


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = http
        self.token = token

    def with_token(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.http, token)

    async def as_user(self, user: Any) -> GraphQLClient:
        from tests.conftest import session_token

        return self.with_token(await session_token(user))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers=self._headers())
        assert response.status_code == 200, response.text
        return response.json()

    async def ok(self, query: str, **variables: Any) -> dict[str, Any]:
        result = await self.execute(query, variables)
        assert not result.get("errors"), json.dumps(result["errors"], ensure_ascii=False, indent=1)
        return result["data"]

    async def error(self, query: str, **variables: Any) -> dict[str, Any]:
        """The first error (message + extensions) of a call that must fail."""
        result = await self.execute(query, variables)
        assert result.get("errors"), f"expected an error, got {result.get('data')}"
        return result["errors"][0]

    async def code(self, query: str, **variables: Any) -> str:
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
        return await self.http.get(url, headers=self._headers())
