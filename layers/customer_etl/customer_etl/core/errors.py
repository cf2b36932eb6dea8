"""The project's exception classes. Messages say what went wrong and what to do, and never
carry a record's values."""

from __future__ import annotations


class CustomerEtlError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class _KindedError(Exception):
    """An error that says which of a few kinds of trouble it is (`kind`, a short name the
    log records beside the class). It survives pickling (a process pool hands errors back
    that way) with its kind."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple[type[_KindedError], tuple[str, str]]:
        return type(self), (str(self), self.kind)


class InputFileError(CustomerEtlError):
    """The input file cannot be used as a customer CSV (missing, empty, binary, bad header)."""


class StageError(CustomerEtlError):
    """A stage could not finish; the run fails and can be resumed once the cause is fixed."""


class UnexpectedStageError(StageError):
    """A stage failed on an error the pipeline did not raise on purpose. It replaces that
    error where it would leave the process (a Lambda's answer to Step Functions), because an
    unexpected error's message may quote a record's value; the log has where it was raised."""


class TransientError(CustomerEtlError):
    """A failure worth retrying (a dependency was briefly unavailable)."""


class WarehouseUnavailableError(_KindedError, TransientError):
    """The warehouse could not be reached, or is locked by another writer for now; earlier
    checkpoints are kept for a resume. `kind` says which (`unreachable`, `locked`,
    `cannot_open`)."""

    def __init__(self, message: str, kind: str = "unreachable") -> None:
        super().__init__(message, kind)


class WarehouseWriteError(_KindedError, CustomerEtlError):
    """The warehouse answers but refuses every write: read-only, immutable, or its disk is
    full. Not transient: a retry fails the same way until someone acts. `kind` says which
    (`read_only`, `immutable`, `disk_full`)."""


class OutputWriteError(_KindedError, CustomerEtlError):
    """A checkpoint or one of the run's documents could not be written (the disk is full, the
    filesystem is read-only, no permission); nothing half-written is left behind. `kind`
    says which (`disk_full`, `read_only`, `not_permitted`, `os_error`)."""


class AwsServiceUnavailableError(_KindedError, TransientError):
    """An AWS call (S3, KMS, SQS, SNS, DynamoDB...) was throttled or the service failed,
    after the SDK's own retries: the task's Retry tries again with backoff, and a redrive
    finishes the run if the outage outlasts them. `kind` says which (`throttled`,
    `unavailable`)."""


class AwsRequestRefusedError(_KindedError, CustomerEtlError):
    """An AWS call was refused for a reason no retry cures (access denied, a missing bucket
    or queue, an invalid request): someone must act before a redrive. `kind` is the
    service's error code."""


class EnrichmentUnavailableError(TransientError):
    """An enrichment API could not answer; the stage falls back to reference data."""


class WarehouseSchemaError(CustomerEtlError):
    """The warehouse's schema is not the one this version needs (missing, older or newer)."""


class LoadAbortedError(StageError):
    """The load was rolled back as a whole for a reason a retry would not cure."""


class UnexpectedPersonalDataError(InputFileError):
    """A non-canonical column of the file holds personal data the configuration does not
    say how to handle (`privacy.classification.extra_columns`)."""


class MaskingKeyError(CustomerEtlError):
    """Masking is on but its key cannot be had: a configuration error, never a default key."""


class InputChangedError(InputFileError):
    """The source changed while the run read it, or since: another file, or another version
    of the object, than the one the run was started for. Never mixed into the run."""


class ChunkMissingError(StageError):
    """A stage has no result for some of its chunks (a chunk failed, or a Map item came
    back empty): the run cannot go on until they are run again."""


class RunIdInUseError(CustomerEtlError):
    """A new run was given the id of an existing run: resume that one, or pick another id."""


class RunInterruptedError(CustomerEtlError):
    """The run was stopped by a signal (Ctrl-C, SIGTERM) between two steps; resume it."""


class IncidentToolError(CustomerEtlError):
    """The incident tool (ServiceNow, Jira Service Management, a webhook) could not open or
    resolve an incident after its retries; the alert went out regardless."""


class LegalHoldError(CustomerEtlError):
    """A legal hold that cannot be placed or released as asked (never quotes a customer id)."""
