"""Data subject requests, shared by `customer-etl subject ...` and the subject-request
function: find a person, list the register, export, erase, restrict, object.

Every operation that acts for a person opens a row in `subject_requests` and closes it with
its outcome (ids, counts, codes: never an email, a phone number or a name). What it returns
is a JSON-ready document; only `export` returns decrypted values, for the file or the
response the operator asked for. The runbook is docs/governance/subject-requests.md.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from customer_etl.adapters.parquet_crypto import LocalRunArtefacts
from customer_etl.adapters.subject_artefacts import find_rows, remove_rows
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.customer_records import CustomerRecords
from customer_etl.adapters.warehouse.subjects import SubjectStore
from customer_etl.config.model import Config
from customer_etl.config.privacy import CLASS_OF_COLUMN
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.legal_holds import HoldScope, NewLegalHold
from customer_etl.core.ports import KeyProvider
from customer_etl.core.schema import BUSINESS_KEY
from customer_etl.observability.telemetry import logger
from customer_etl.privacy import access
from customer_etl.privacy.blind_index import digest, normalise
from customer_etl.privacy.envelope import DecryptionError
from customer_etl.privacy.processing_record import processing_record
from customer_etl.privacy.subject_requests import (
    CLOSED,
    ERASED,
    OBJECTED,
    REFUSED,
    REQUEST_KINDS,
    RESTRICTED,
    SubjectMatch,
    SubjectRef,
    age_days,
    due_by,
    overdue,
)
from customer_etl.runtime.protection import index_key

HeldCheck = Callable[[str, tuple[str, ...]], bool]
"""Is this customer (whose data sits in these runs) under a legal hold? The one question an
erasure asks before acting."""

ENRICHMENT_CACHE_DECISION = (
    "not searched and not erased: the enrichment cache is keyed by SHA-256 digests of "
    "postcodes and company numbers and holds the public facts the APIs gave about places "
    "and companies, with no customer id, name or contact detail: nothing links an entry to "
    "a person"
)
DATA_KEYS_DECISION = (
    "not shredded: each run's data key seals the values of every customer of that run, so "
    "destroying it would erase them all; this person's tokens are deleted with their row "
    "instead (per-subject keys are a design change: docs/governance/subject-requests.md)"
)
BACKUPS_DECISION = (
    "not reachable from here: a restored backup holds the person again until the next "
    "load refuses their records; after a restore, rerun the erasures of the register "
    "(docs/governance/subject-requests.md)"
)


class SubjectRequestError(CustomerEtlError):
    """A subject request could not be carried out as asked; the message says why, naming no
    personal data."""


def held_data_classes(config: Config) -> tuple[str, ...]:
    """The data classes a hold on which covers a customer's record: the personal-data
    classes of its columns and their retention classes (docs/governance/legal-holds.md)."""
    policies = config.privacy.classification.policies
    classes = {str(data_class) for data_class in CLASS_OF_COLUMN.values()}
    classes |= {policies[data_class].retention_class for data_class in CLASS_OF_COLUMN.values()}
    return tuple(sorted(classes))


def local_user() -> str:
    return f"local:{getpass.getuser()}"


@dataclass
class SubjectService:
    """The operations over one configuration's warehouse (and, locally, runs folder)."""

    config: Config
    warehouse: SqlWarehouse
    keys: Callable[[], KeyProvider]
    requested_by: str
    artefacts: LocalRunArtefacts | None = None
    """The local runs folder whose artefacts are searched and edited; None in the cloud,
    where checkpoint and quarantine objects expire with their bucket's lifecycle."""
    held: HeldCheck | None = None
    """The legal-hold check; None asks the warehouse's `legal_holds` (`held_at`)."""
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def is_held(self, customer_id: str, run_ids: tuple[str, ...]) -> bool:
        """Whether a hold in force covers the customer, a class of their record, or a run
        that holds their data: any of them stops an erasure."""
        if self.held is not None:
            return self.held(customer_id, run_ids)
        targets = self.warehouse.held_at(
            self.now(),
            customer_ids=[customer_id],
            data_classes=held_data_classes(self.config),
            run_ids=run_ids,
        )
        return bool(targets.customer_ids or targets.data_classes or targets.run_ids)

    @cached_property
    def store(self) -> SubjectStore:
        return SubjectStore(self.warehouse)

    @cached_property
    def _index_key(self) -> bytes | None:
        if not self.config.encryption.enabled:
            return None
        return index_key(self.config, self.keys())

    def _records(self) -> CustomerRecords:
        return CustomerRecords(self.warehouse, self.keys(), self._index_key)

    # -- references -------------------------------------------------------------------

    def reference(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        region: str = access.DEFAULT_PHONE_REGION,
    ) -> SubjectRef:
        """The register's reference of the person: the customer id, or the blind index of
        the email or phone normalised exactly as the load normalised it."""
        if customer_id is not None:
            return SubjectRef(BUSINESS_KEY, customer_id)
        if self._index_key is None:
            raise SubjectRequestError(
                "finding a person by email or phone needs the blind indexes, which exist only "
                "with encryption.enabled: find them by --id"
            )
        if email is not None:
            return SubjectRef(
                "email_bidx", digest(access.lookup_email(email), self._index_key, "email")
            )
        if phone is not None:
            stored = access.lookup_phone(phone, region)
            return SubjectRef("phone_bidx", digest(stored, self._index_key, "phone"))
        raise SubjectRequestError("name the person: --id, --email or --phone")

    def _match(self, customer_ids: list[str], extra: dict[str, str]) -> SubjectMatch:
        """How to find the person in plaintext artefacts: their ids, and their email and
        phone in normal form (from the search, or from their own decrypted record)."""
        emails: set[str] = set()
        phones: set[str] = set()
        if "email" in extra:
            emails.add(normalise(access.lookup_email(extra["email"]), "email"))
        if "phone" in extra:
            region = extra.get("region", access.DEFAULT_PHONE_REGION)
            phones.add(normalise(access.lookup_phone(extra["phone"], region), "phone"))
        for customer_id in customer_ids:
            record = self._own_record(customer_id)
            if record is None:
                continue
            if record.get("email"):
                emails.add(normalise(str(record["email"]), "email"))
            if record.get("phone"):
                phones.add(normalise(str(record["phone"]), "phone"))
        return SubjectMatch(frozenset(customer_ids), frozenset(emails), frozenset(phones))

    def _own_record(self, customer_id: str) -> dict[str, Any] | None:
        """The person's own record, decrypted (one record, not the table); None when it
        cannot be read, and the search goes on by id."""
        try:
            return self._records().record(customer_id)
        except DecryptionError as error:
            logger.warning(
                "a subject's record could not be decrypted; artefacts are searched by id only",
                extra={"error_class": type(error).__name__},
            )
            return None

    # -- register -----------------------------------------------------------------------

    def _open(self, kind: str, ref: SubjectRef) -> str:
        request_id = self.store.open_request(kind, ref, self.requested_by)
        logger.info(
            "subject request opened",
            extra={"request_id": request_id, "kind": kind, "subject_ref_kind": ref.kind},
        )
        return request_id

    def _close(self, request_id: str, outcome: dict[str, Any], status: str = CLOSED) -> None:
        self.store.close_request(request_id, json.dumps(outcome, sort_keys=True), status)
        logger.info("subject request closed", extra={"request_id": request_id, "status": status})

    def register(self, *, open_only: bool = False) -> list[dict[str, Any]]:
        """The register with each request's age and deadline; overdue ones flagged."""
        now = self.now()
        return [
            {
                "request_id": row.request_id,
                "kind": row.kind,
                "article": REQUEST_KINDS.get(row.kind, ""),
                "requested_by": row.requested_by,
                "requested_at": row.requested_at.isoformat(),
                "subject_ref_kind": row.subject_ref_kind,
                "subject_ref": row.subject_ref,
                "status": row.status,
                "outcome": json.loads(row.outcome) if row.outcome else None,
                "closed_at": row.closed_at.isoformat() if row.closed_at else None,
                "age_days": age_days(row.requested_at, row.closed_at or now),
                "due_by": due_by(row.requested_at).isoformat(),
                "overdue": overdue(row.requested_at, row.status, now),
            }
            for row in self.store.requests(open_only=open_only)
        ]

    # -- article 15: find and export ------------------------------------------------------

    def find(
        self,
        *,
        customer_id: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        region: str = access.DEFAULT_PHONE_REGION,
    ) -> dict[str, Any]:
        """Every place the pipeline holds the person: recorded as an access request."""
        ref = self.reference(customer_id=customer_id, email=email, phone=phone, region=region)
        request_id = self._open("access", ref)
        given = _given(email=email, phone=phone)
        if phone is not None:
            given["region"] = region
        document = self._places(ref, given)
        document["request_id"] = request_id
        self._close(request_id, _counts(document))
        return document

    def _places(self, ref: SubjectRef, given: dict[str, str]) -> dict[str, Any]:
        ids = self.store.customer_ids(ref)
        # An id no longer in the warehouse (erased, or never loaded) may still be in the runs.
        ids_for_artefacts = [ref.value] if ref.kind == BUSINESS_KEY and not ids else ids
        places: list[dict[str, Any]] = []
        for customer_id in ids:
            indexes = self.store.indexes(customer_id)
            places.append(
                {
                    "place": "warehouse.customers",
                    "customer_id": customer_id,
                    "rows": 1,
                    "flags": self.store.flags_of({BUSINESS_KEY: customer_id, **indexes}),
                }
            )
            trail = self.store.audit_trail(customer_id)
            places.append(
                {
                    "place": "warehouse.customer_changes",
                    "customer_id": customer_id,
                    "rows": trail.rows,
                    "run_ids": list(trail.run_ids),
                }
            )
        for hit in self._artefacts(ids_for_artefacts, given):
            places.append(
                {
                    "place": "quarantine" if hit.kind == "quarantine" else "run_artefact",
                    "run_id": hit.run_id,
                    "kind": hit.kind,
                    "path": str(hit.path),
                    "rows": hit.rows,
                }
            )
        places.append(
            {"place": "enrichment_cache", "rows": 0, "decision": ENRICHMENT_CACHE_DECISION}
        )
        return {
            "subject_ref": {"kind": ref.kind, "value": ref.value},
            "customer_ids": ids,
            "suppressed": bool(self.store.flags_of({ref.kind: ref.value})),
            "places": places,
        }

    def _artefacts(self, customer_ids: list[str], given: dict[str, str]) -> list[Any]:
        if self.artefacts is None:
            return []
        return find_rows(self.artefacts, self._match(customer_ids, given))

    def export(self, customer_id: str) -> dict[str, Any]:
        """The person's record decrypted, with the processing record of each field: the
        answer to an access request. Personal data: for the file the operator names only."""
        ref = SubjectRef(BUSINESS_KEY, customer_id)
        request_id = self._open("access", ref)
        record = self._records().record(customer_id)
        if record is None:
            self._close(request_id, {"exported": 0, "reason": "no_such_customer"})
            raise SubjectRequestError(f"customer {customer_id} is not in the warehouse")
        places = self._places(ref, {})
        processing = processing_record(self.config)
        document = {
            "request_id": request_id,
            "exported_at": self.now().isoformat(),
            "controller_note": "GDPR article 15: the personal data held and how it is processed",
            "customer_id": customer_id,
            "fields": {
                name: {"value": _jsonable(record.get(name)), **processing[name]}
                for name in processing
            },
            "held_at": {
                "first_seen_at": _jsonable(record.get("first_seen_at")),
                "last_seen_at": _jsonable(record.get("last_seen_at")),
                "last_run_id": record.get("last_run_id"),
            },
            "places": places["places"],
        }
        self._close(request_id, {"exported": 1, **_counts(places)})
        return document

    # -- article 17: erasure ---------------------------------------------------------------

    def erase(self, customer_id: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Delete or anonymise the person everywhere the pipeline keeps data, unless held;
        put their ids and blind indexes on the suppression list first, so that a load
        running meanwhile already refuses them."""
        ref = SubjectRef(BUSINESS_KEY, customer_id)
        mode = self.config.subject_requests.erasure
        places = self._places(ref, {})
        indexes = self.store.indexes(customer_id)
        match = self._match([customer_id], {})
        hits = find_rows(self.artefacts, match) if self.artefacts is not None else []
        runs = {hit.run_id for hit in hits} | set(self.store.audit_trail(customer_id).run_ids)
        if self.is_held(customer_id, tuple(sorted(runs))):
            document = {"customer_id": customer_id, "erased": False, "reason": "legal_hold"}
            if not dry_run:
                request_id = self._open("erasure", ref)
                self._close(request_id, document, REFUSED)
                document["request_id"] = request_id
            return document
        plan: dict[str, Any] = {
            "customer_id": customer_id,
            "mode": mode,
            "warehouse_rows": sum(
                p["rows"] for p in places["places"] if p["place"] == "warehouse.customers"
            ),
            "audit_rows": sum(
                p["rows"] for p in places["places"] if p["place"] == "warehouse.customer_changes"
            ),
            "artefact_files": len(hits),
            "artefact_rows": sum(hit.rows for hit in hits),
            "suppressed_by": sorted([BUSINESS_KEY, *indexes]),
            "data_keys": DATA_KEYS_DECISION,
            "backups": BACKUPS_DECISION,
            "enrichment_cache": ENRICHMENT_CACHE_DECISION,
        }
        if dry_run:
            return {**plan, "dry_run": True}
        request_id = self._open("erasure", ref)
        self.store.set_flag(ERASED, {BUSINESS_KEY: customer_id, **indexes}, request_id)
        erased = self.store.erase(customer_id, mode)
        removed = remove_rows(self.artefacts, hits, match) if self.artefacts is not None else 0
        outcome = {
            **{k: v for k, v in plan.items() if not isinstance(v, str) or k == "mode"},
            "warehouse_rows": erased.customers,
            "audit_rows": erased.audit_rows,
            "artefact_rows": removed,
            "erased": True,
        }
        self._close(request_id, outcome)
        return {**plan, **outcome, "request_id": request_id}

    # -- article 16: rectification, made at the source --------------------------------------

    def rectify(self, customer_id: str) -> dict[str, Any]:
        """Record a rectification request, open until the corrected record is loaded from
        the source system and the DPO closes it (`close`): the pipeline takes its records
        from the source, so the correction is made there."""
        ref = SubjectRef(BUSINESS_KEY, customer_id)
        request_id = self._open("rectification", ref)
        return {
            "request_id": request_id,
            "customer_id": customer_id,
            "status": "open",
            "last_run_id": self.store.last_run_id(customer_id),
        }

    def close(self, request_id: str, *, refused: bool = False) -> dict[str, Any]:
        """Close an open request by hand (a rectification loaded, a request refused under
        article 12(5)); the outcome records who closed it, never free text."""
        rows = {row.request_id: row for row in self.store.requests(open_only=True)}
        if request_id not in rows:
            raise SubjectRequestError(f"no open subject request {request_id}")
        status = REFUSED if refused else CLOSED
        outcome = {"closed_by": self.requested_by, "last_run_id": None}
        row = rows[request_id]
        if row.subject_ref_kind == BUSINESS_KEY:
            outcome["last_run_id"] = self.store.last_run_id(row.subject_ref)
        self._close(request_id, outcome, status)
        return {"request_id": request_id, "status": status, **outcome}

    # -- articles 18 and 21 ----------------------------------------------------------------

    def restrict(self, customer_id: str) -> dict[str, Any]:
        """Article 18: later loads leave the stored record as it is and quarantine their
        values for it (`restricted_subject`); and a legal hold on the customer keeps the
        retention job (and an erasure) from deleting what the person asked to be kept
        (article 18(1)(b), (c)), until the DPO releases it."""
        document = self._flag(RESTRICTED, "restriction", customer_id)
        hold = self.warehouse.add_legal_hold(
            NewLegalHold(
                scope=HoldScope.CUSTOMER,
                target=customer_id,
                reason=f"GDPR article 18 restriction, subject request {document['request_id']}",
                owner=self.requested_by,
            )
        )
        document["hold_id"] = hold.hold_id
        return document

    def object_to_marketing(self, customer_id: str) -> dict[str, Any]:
        """Article 21(2),(3): marketing consent off now and on every later load."""
        document = self._flag(OBJECTED, "objection", customer_id)
        document["marketing_consent_forced_off"] = self.store.force_marketing_off(customer_id)
        return document

    def _flag(self, flag: str, kind: str, customer_id: str) -> dict[str, Any]:
        ref = SubjectRef(BUSINESS_KEY, customer_id)
        request_id = self._open(kind, ref)
        indexes = self.store.indexes(customer_id)
        added = self.store.set_flag(flag, {BUSINESS_KEY: customer_id, **indexes}, request_id)
        known = bool(self.store.customer_ids(ref))
        outcome = {"flag": flag, "flags_added": added, "customer_in_warehouse": known}
        self._close(request_id, outcome)
        return {"request_id": request_id, "customer_id": customer_id, **outcome}


def _given(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value is not None}


def _counts(document: dict[str, Any]) -> dict[str, Any]:
    """What the register keeps of a find: counts by place, never paths or values."""
    by_place: dict[str, int] = {}
    for place in document["places"]:
        by_place[place["place"]] = by_place.get(place["place"], 0) + int(place["rows"])
    return {"customers": len(document["customer_ids"]), "rows_by_place": by_place}


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()  # a date
    if isinstance(value, float) and value != value:
        return None
    return value
