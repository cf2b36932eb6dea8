"""Alerts of whole local runs through a real SMTP server on loopback (aiosmtpd): one
message per failed run, none for a clean one, STARTTLS with a login, and a relay that is
down does not change the run's outcome."""

from __future__ import annotations

import json
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from customer_etl.reference.sample import Sample, write_sample
from customer_etl.runtime.cli import main
from tests.certificates import self_signed
from tests.e2e.run_logs import run_log
from tests.incident_guide import guide_anchors

REPO = Path(__file__).resolve().parents[2]
RECIPIENT = "data-ops@example.org"
SENDER = "customer-etl@example.org"
PERSONAL_COLUMNS = ("first_name", "last_name", "email", "phone", "postcode", "date_of_birth")
SMTP_USER = "etl-alerts"
SMTP_PASSWORD = "s3cret-for-tests"


@dataclass
class Inbox:
    """What the loopback server received, and the logins it accepted."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 (the name aiosmtpd calls)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        accepted = (
            isinstance(data, LoginPassword)
            and data.login == SMTP_USER.encode()
            and data.password == SMTP_PASSWORD.encode()
        )
        if accepted:
            self.logins.append(data.login.decode())
        return AuthResult(success=accepted)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(inbox: Inbox, **smtp_parameters: Any) -> Controller:
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=inbox.authenticate,
        **smtp_parameters,
    )
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain SMTP server (no TLS) on loopback."""
    received = Inbox()
    controller = _serve(received, auth_require_tls=False)
    try:
        yield received, controller.port
    finally:
        controller.stop()


@dataclass
class Workspace:
    root: Path
    runs: Path

    def run(self, source: Path, run_id: str) -> int:
        return main(
            [
                "run", str(source), "--runs", str(self.runs), "--run-id", run_id,
                "--config", str(REPO / "config" / "local.yaml"),
            ]
        )  # fmt: skip


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_dir: Path) -> Workspace:
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__CACHE_PATH", str(tmp_path / "cache.db"))
    monkeypatch.setenv("CUSTOMER_ETL__ALERTS__EMAIL__TO", f"[{RECIPIENT}]")
    monkeypatch.setenv("CUSTOMER_ETL__ALERTS__EMAIL__FROM", SENDER)
    monkeypatch.setenv("CUSTOMER_ETL__ALERTS__RUNBOOK_BASE_URL", "https://docs.example.org/etl")
    return Workspace(tmp_path, tmp_path / "runs")


def _use_smtp(monkeypatch: pytest.MonkeyPatch, port: int, *, starttls: bool) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__ALERTS__SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("CUSTOMER_ETL__ALERTS__SMTP__PORT", str(port))
    monkeypatch.setenv("CUSTOMER_ETL__ALERTS__SMTP__STARTTLS", "true" if starttls else "false")


def _sample(workspace: Workspace, defect_rate: float, drop: str | None = None) -> Sample:
    path = workspace.root / "customers.csv"
    generated = write_sample(path, rows=200, seed=11, defect_rate=defect_rate)
    if drop:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=[drop])
        frame.to_csv(path, index=False)
    return generated


def _personal_values(generated: Sample) -> set[str]:
    values: set[str] = set()
    for column in PERSONAL_COLUMNS:
        values |= {v.strip() for v in generated.frame[column] if len(v.strip()) >= 3}
    return values


def _leaks(message: EmailMessage, generated: Sample) -> set[str]:
    text = f"{message['Subject']}\n{message.get_content()}"
    return {
        value
        for value in _personal_values(generated)
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text)
    }


def test_a_failed_run_sends_one_message_with_its_severity_counts_and_runbook_link(
    workspace: Workspace, inbox: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    received, port = inbox
    _use_smtp(monkeypatch, port, starttls=False)
    # 10% of the rows are defective, above the default quality.max_bad_ratio of 5%.
    generated = _sample(workspace, defect_rate=0.1)

    assert workspace.run(workspace.root / "customers.csv", "too-many-bad") == 1

    [message] = received.messages
    assert message["Subject"] == "[P2] customer-etl run too-many-bad failed: QualityThresholdError"
    assert (message["From"], message["To"]) == (SENDER, RECIPIENT)
    assert received.envelopes == [(SENDER, [RECIPIENT])]
    assert message["X-Customer-ETL-Severity"] == "P2"
    body = message.get_content()
    assert "Rows in: 200; loaded: 0; quarantined: 20" in body
    summary = json.loads((workspace.runs / "too-many-bad" / "summary.json").read_text())
    reasons = summary["quarantine_reasons"]
    assert sum(reasons.values()) >= 20
    for code, count in reasons.items():
        assert f"{code} {count}" in body
    [anchor] = re.findall(r"https://docs\.example\.org/etl/incident-response\.md#([\w-]+)", body)
    assert anchor == "qualitythresholderror"
    assert anchor in guide_anchors()
    assert _leaks(message, generated) == set()


def test_a_clean_run_sends_nothing(
    workspace: Workspace, inbox: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    received, port = inbox
    _use_smtp(monkeypatch, port, starttls=False)
    _sample(workspace, defect_rate=0.0)

    assert workspace.run(workspace.root / "customers.csv", "clean") == 0
    assert received.messages == []


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key: the server's, and the CA the client trusts."""
    return self_signed(folder, "relay", "127.0.0.1", ip="127.0.0.1")


def test_starttls_and_a_login_with_the_password_by_reference(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert_path, key_path = _self_signed(workspace.root)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_path, key_path)
    received = Inbox()
    # The server refuses mail and logins before STARTTLS: the message proves the upgrade.
    controller = _serve(received, tls_context=server_tls, require_starttls=True, auth_required=True)
    try:
        _use_smtp(monkeypatch, controller.port, starttls=True)
        monkeypatch.setenv("CUSTOMER_ETL__ALERTS__SMTP__CA_FILE", str(cert_path))
        monkeypatch.setenv("CUSTOMER_ETL__ALERTS__SMTP__USERNAME", SMTP_USER)
        monkeypatch.setenv("CUSTOMER_ETL__ALERTS__SMTP__PASSWORD_REF", "env:ALERTS_SMTP_PASSWORD")
        monkeypatch.setenv("ALERTS_SMTP_PASSWORD", SMTP_PASSWORD)
        generated = _sample(workspace, defect_rate=0.0, drop="customer_id")

        assert workspace.run(workspace.root / "customers.csv", "no-id-column") == 1
    finally:
        controller.stop()

    assert received.logins == [SMTP_USER]
    [message] = received.messages
    assert message["Subject"] == "[P3] customer-etl run no-id-column failed: InputFileError"
    assert "#inputfileerror" in message.get_content()
    assert _leaks(message, generated) == set()


def test_a_relay_that_is_down_leaves_the_run_s_outcome_and_logs_the_alert(
    workspace: Workspace, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_smtp(monkeypatch, _free_port(), starttls=False)  # nothing listens there
    _sample(workspace, defect_rate=0.0, drop="customer_id")

    assert workspace.run(workspace.root / "customers.csv", "relay-down") == 1

    log = run_log(log_dir, "relay-down")
    assert "alert not sent by SMTP" in log and "ConnectionRefusedError" in log
    assert "[P3] customer-etl run relay-down failed: InputFileError" in log
