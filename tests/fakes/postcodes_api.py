"""A fake of the postcodes.io bulk endpoint on loopback, for tests: no test reaches the
internet."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakePostcodesApi:
    """Knows the postcodes in `known`; `down=True` makes it answer 503 to everything."""

    known: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    requests: list[list[str]] = field(default_factory=list)
    base_url: str = ""

    def answer(self, postcodes: list[str]) -> tuple[int, dict[str, Any]]:
        self.requests.append(postcodes)
        if self.down:
            return 503, {"status": 503, "error": "unavailable"}
        result = [{"query": code, "result": self.known.get(code)} for code in postcodes]
        return 200, {"status": 200, "result": result}


def details(region: str, district: str, country: str = "England") -> dict[str, Any]:
    return {
        "region": region,
        "admin_district": district,
        "country": country,
        "latitude": 51.5,
        "longitude": -0.12,
    }


@contextmanager
def serve(api: FakePostcodesApi) -> Iterator[FakePostcodesApi]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            status, body = api.answer(list(payload.get("postcodes", [])))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
