"""The subject-request function: the operations of `customer-etl subject ...` for the cloud,
invoked by operators with IAM (no function URL, no trigger). The event names the operation
and the operator; the response is the operation's document (for `export`, the decrypted
record: the operator's `out.json`). The event is never logged: it may hold an email or a
phone number.

Event:
    {"operation": "find" | "requests" | "export" | "erase" | "rectify" | "restrict" | "object"
                  | "close",
     "requested_by": "dpo@example.com",
     "customer_id": "...", "email": "...", "phone": "...", "region": "GB",
     "dry_run": false, "open_only": false, "request_id": "SR-...", "refused": false}
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import load_config
from customer_etl.observability.telemetry import logger
from customer_etl.runtime.protection import key_provider
from customer_etl.runtime.subject_requests import SubjectRequestError, SubjectService

ENV_VARIABLE = "CUSTOMER_ETL_ENV"
OPERATIONS = ("find", "requests", "export", "erase", "rectify", "restrict", "object", "close")


def _required(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value.strip():
        raise SubjectRequestError(f"the event needs {name!r}")
    return value.strip()


@logger.inject_lambda_context(clear_state=True, log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    operation = event.get("operation")
    if operation not in OPERATIONS:
        raise SubjectRequestError(f"operation must be one of {', '.join(OPERATIONS)}")
    logger.append_keys(subject_operation=operation)
    config = load_config(os.environ.get(ENV_VARIABLE, "dev"))
    warehouse = build_warehouse(config)
    service = SubjectService(
        config=config,
        warehouse=warehouse,
        keys=lambda: key_provider(config, cloud=True),
        # CloudTrail records the IAM identity that invoked the function; the register keeps
        # the operator the event names, next to the function that acted.
        requested_by=f"iam:{_required(event, 'requested_by')}",
    )
    try:
        return _dispatch(service, operation, event)
    finally:
        warehouse.dispose()


def _dispatch(service: SubjectService, operation: str, event: dict[str, Any]) -> dict[str, Any]:
    if operation == "find":
        return service.find(
            customer_id=event.get("customer_id"),
            email=event.get("email"),
            phone=event.get("phone"),
            region=str(event.get("region", "GB")),
        )
    if operation == "requests":
        return {"requests": service.register(open_only=bool(event.get("open_only")))}
    if operation == "close":
        return service.close(_required(event, "request_id"), refused=bool(event.get("refused")))
    customer_id = _required(event, "customer_id")
    if operation == "export":
        return service.export(customer_id)
    if operation == "erase":
        return service.erase(customer_id, dry_run=bool(event.get("dry_run")))
    if operation == "rectify":
        return service.rectify(customer_id)
    if operation == "restrict":
        return service.restrict(customer_id)
    return service.object_to_marketing(customer_id)
