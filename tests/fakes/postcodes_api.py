"""A fake of both enrichment APIs on loopback, for tests and benchmarks: no test reaches the
internet.

It speaks postcodes.io's bulk lookup (`POST /postcodes`) and Companies House's company
profile (`GET /company/{number}`, HTTP Basic auth), and can be told to add latency, fail a
share of calls with 500, fail the next calls with 503, answer 429 with reset headers, hang
past the client's timeout, or be down (503 to everything). `closed_port_url()` gives an
address where nothing listens at all.
"""

from __future__ import annotations

import base64
import json
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_COMPANY_PATH = re.compile(r"^/company/([A-Za-z0-9]+)$")


@dataclass
class FakePostcodesApi:
    """Both APIs. Knows the postcodes in `known` and the companies in `companies`.

    `api_key`, when set, is the only Companies House key accepted (401 otherwise).
    Failure knobs apply to both APIs, in this order: `redirect_to` (a 307 to that address),
    `down`, `hang_next`, `rate_limit_next`, `fail_next`, `failure_share`.
    """

    known: dict[str, dict[str, Any]] = field(default_factory=dict)
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_key: str | None = None
    redirect_to: str | None = None
    down: bool = False
    latency_seconds: float = 0.0
    failure_share: float = 0.0
    fail_next: int = 0
    rate_limit_next: int = 0
    rate_limit_reset_seconds: int = 2
    hang_next: int = 0
    hang_seconds: float = 1.0
    seed: int = 0
    record: bool = True
    """Keep every request in `requests`, `company_requests` and `statuses`; a benchmark of
    millions of rows turns it off, or the fake's memory counts in the run's peak RSS."""
    requests: list[list[str]] = field(default_factory=list)
    """The postcodes of each bulk request, in arrival order."""
    company_requests: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    """The status of every response, both APIs, in order."""
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def answer(self, postcodes: list[str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.record:
            self.requests.append(postcodes)
        failure = self._failure()
        if failure is not None:
            return failure
        result = [{"query": code, "result": self.known.get(code)} for code in postcodes]
        return self._done(200, {"status": 200, "result": result})

    def company(
        self, number: str, authorization: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.record:
            self.company_requests.append(number)
        if self.api_key is not None and authorization != _basic(self.api_key):
            return self._done(401, {"error": "Invalid Authorization"})
        failure = self._failure()
        if failure is not None:
            return failure
        profile = self.companies.get(number)
        if profile is None:
            return self._done(404, {"errors": [{"error": "company-profile-not-found"}]})
        return self._done(200, {"company_number": number, **profile})

    def _failure(self) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        with self._lock:
            if self.redirect_to is not None:
                return self._done(307, {}, {"Location": self.redirect_to})
            if self.down:
                return self._done(503, {"error": "unavailable"})
            if self.hang_next > 0:
                self.hang_next -= 1
                hang = True
            else:
                hang = False
        if hang:
            time.sleep(self.hang_seconds)  # the client has given up by now
            return self._done(504, {"error": "too slow"})
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        with self._lock:
            if self.rate_limit_next > 0:
                self.rate_limit_next -= 1
                reset = int(time.time()) + self.rate_limit_reset_seconds
                headers = {
                    "X-Ratelimit-Limit": "600",
                    "X-Ratelimit-Remain": "0",
                    "X-Ratelimit-Reset": str(reset),
                    "X-Ratelimit-Window": "5m",
                }
                return self._done(429, {"error": "rate limited"}, headers)
            if self.fail_next > 0:
                self.fail_next -= 1
                return self._done(503, {"error": "unavailable"})
            if self.failure_share and self._random.random() < self.failure_share:
                return self._done(500, {"error": "internal"})
        return None

    def _done(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.record:
            self.statuses.append(status)  # list.append is atomic: no lock needed
        return status, body, headers or {}


FakeApis = FakePostcodesApi
"""The same fake under a name that says it serves both APIs."""


def details(region: str, district: str, country: str = "England") -> dict[str, Any]:
    """A postcodes.io result."""
    return {
        "region": region,
        "admin_district": district,
        "country": country,
        "latitude": 51.5,
        "longitude": -0.12,
    }


def company_profile(
    status: str = "active",
    company_type: str = "ltd",
    sic_codes: tuple[str, ...] = ("62020",),
    created: str = "2010-05-04",
) -> dict[str, Any]:
    """A Companies House company profile (the fields the pipeline reads, and one more)."""
    return {
        "company_name": "EXAMPLE TRADING LIMITED",
        "company_status": status,
        "type": company_type,
        "sic_codes": list(sic_codes),
        "date_of_creation": created,
    }


def _basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def closed_port_url() -> str:
    """An address on loopback where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def serve(api: FakePostcodesApi) -> Iterator[FakePostcodesApi]:
    """Serve `api` on a free loopback port for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
        # Headers and body go out in separate writes: with Nagle's algorithm on, the client's
        # delayed ACK would add ~40 ms to every response and swamp the latency we set.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/postcodes":
                self._send(404, {"error": "not found"}, {})
                return
            self._send(*api.answer(list(payload.get("postcodes", []))))

        def do_GET(self) -> None:
            match = _COMPANY_PATH.match(self.path)
            if match is None:
                self._send(404, {"error": "not found"}, {})
                return
            self._send(*api.company(match.group(1), self.headers.get("Authorization")))

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True  # a hanging handler must not hold up shutdown
        request_queue_size = 64

    server = Server(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown waits for the loop's next look at its flag.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_apart(latency_seconds: float) -> Iterator[str]:
    """The fake in a process of its own, for benchmarks: its base URL for the block.

    A real API answers from another machine; served from a thread of the measured process,
    the fake's own JSON work would take turns with the run's on the GIL and count as the
    run's time."""
    import subprocess
    import sys
    from pathlib import Path

    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.postcodes_api", str(latency_seconds)],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http://"):
            raise RuntimeError("the fake API process did not start")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _serve_until_stdin_closes(latency_seconds: float) -> None:
    import sys

    with serve(FakePostcodesApi(latency_seconds=latency_seconds, record=False)) as api:
        print(api.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    import sys

    _serve_until_stdin_closes(float(sys.argv[1]))
