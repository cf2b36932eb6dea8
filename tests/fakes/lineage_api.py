"""A fake OpenLineage consumer on loopback, as Marquez and DataHub take events: `POST` of
one JSON run event to `<prefix>/api/v1/lineage` with `Content-Type: application/json`,
answered 201; with `token` set, a request without `Authorization: Bearer <token>` gets 401.
`down` answers every request with 503. Requests elsewhere get 404, and are recorded in
`refused`, so a wrong URL fails a test instead of passing quietly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.loopback import on_loopback


@dataclass
class FakeLineageApi:
    prefix: str = "/openapi/openlineage"
    token: str | None = None
    down: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    base_url: str = ""

    def answer(self, path: str, headers: Any, body: bytes) -> int:
        if self.down:
            return 503
        if path != f"{self.prefix}/api/v1/lineage":
            self.refused.append(f"no such endpoint {path}")
            return 404
        if "application/json" not in (headers.get("Content-Type") or ""):
            self.refused.append("not JSON")
            return 400
        if self.token and headers.get("Authorization") != f"Bearer {self.token}":
            self.refused.append("no bearer token")
            return 401
        self.events.append(json.loads(body))
        return 201


@contextmanager
def serve_lineage_api(api: FakeLineageApi) -> Iterator[FakeLineageApi]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status = api.answer(self.path, self.headers, self.rfile.read(length))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with on_loopback(Handler) as url:
        api.base_url = f"{url}{api.prefix}"
        yield api
