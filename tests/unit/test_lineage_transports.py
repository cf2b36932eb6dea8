"""The lineage transports the configuration builds: Amazon DataZone's through its
PostLineageEvent API (botocore's Stubber checks the call), and the file transport's default
file in the run's folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from botocore.stub import ANY, Stubber

from customer_etl.adapters.lineage import OpenLineageEmitter
from customer_etl.config.lineage import LINEAGE_FILE, LineageSettings
from customer_etl.config.model import Config
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import RUN_JOB, LineageEvent
from customer_etl.runtime.lineage import _transports, lineage_emitter, locations, protection

MANIFEST = RunManifest.start("r1", "/in/customers.csv", datetime(2026, 12, 1, tzinfo=UTC))


def test_datazone_gets_each_event_posted_to_its_domain() -> None:
    settings = LineageSettings(transport="datazone", datazone_domain_id="dzd_4p9n6sw4qt9xgn")
    transport_for = _transports(settings, Path("runs"), cloud=True, region="eu-west-2")
    transport = transport_for("r1")
    assert transport is not None
    posted: list[bytes] = []
    with Stubber(transport.datazone) as stub:  # type: ignore[attr-defined]
        stub.add_response(
            "post_lineage_event",
            {"id": "evt-1", "domainId": "dzd_4p9n6sw4qt9xgn"},
            {"domainIdentifier": "dzd_4p9n6sw4qt9xgn", "event": ANY},
        )
        transport.datazone.meta.events.register(  # type: ignore[attr-defined]
            "before-parameter-build.datazone.PostLineageEvent",
            lambda params, **_: posted.append(params["event"]),
        )
        config = Config(environment="dev")
        emitter = OpenLineageEmitter(
            transport_for, "customer-etl", locations(config, cloud=True), protection(config)
        )
        emitter.emit(LineageEvent("START", RUN_JOB, MANIFEST))
        stub.assert_no_pending_responses()
    [event] = [json.loads(body) for body in posted]
    assert (event["eventType"], event["job"]["name"]) == ("START", "pipeline")


def test_the_file_transport_writes_into_the_run_s_folder(tmp_path: Path) -> None:
    config = Config(environment="local").model_copy(
        update={
            "pipeline": Config(environment="local").pipeline.model_copy(
                update={"output_dir": tmp_path}
            )
        }
    )
    emitter = lineage_emitter(config)

    emitter.emit(LineageEvent("START", RUN_JOB, MANIFEST))

    [line] = (tmp_path / "r1" / LINEAGE_FILE).read_text().splitlines()
    assert json.loads(line)["eventType"] == "START"
    assert locations(config).of_source("/in/customers.csv") == ("file", "/in/customers.csv")
    assert protection(config).encrypted == config.encryption.columns
