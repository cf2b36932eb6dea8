"""Build the key provider and the field protection of a run from the configuration."""

from __future__ import annotations

from customer_etl.adapters.keys_kms import KmsKeyProvider
from customer_etl.adapters.keys_local import KnownKekIds, LocalKeyFile
from customer_etl.adapters.secrets import resolve_secret
from customer_etl.config.encryption import KMS_KEY_VARIABLE
from customer_etl.config.model import Config
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.ports import KeyProvider
from customer_etl.privacy.blind_index import derive_index_key
from customer_etl.privacy.envelope import FieldProtection


class EncryptionConfigError(CustomerEtlError):
    """Encryption is on but a key it needs is not configured."""


def key_provider(
    config: Config, *, cloud: bool = False, known_kek_ids: KnownKekIds | None = None
) -> KmsKeyProvider | LocalKeyFile:
    """KMS when `encryption.kms_key_id` is set, else the local key file. A cloud function
    without a KMS key fails rather than creating a key file that dies with its container.
    `known_kek_ids` reads the warehouse's `data_keys`, so that a missing or foreign key file
    is refused instead of replaced (`runtime.factory.build_key_provider` wires it)."""
    settings = config.encryption
    if settings.kms_key_id:
        return KmsKeyProvider(settings.kms_key_id, region=config.aws.region)
    if cloud:
        raise EncryptionConfigError(
            f"encryption is enabled but no KMS key is configured: set {KMS_KEY_VARIABLE} "
            "(the stack does) or encryption.kms_key_id"
        )
    return LocalKeyFile(settings.key_file, known_kek_ids)


def index_key(config: Config, provider: KeyProvider) -> bytes:
    """The blind-index key: from the configured secret, else from the local key file."""
    reference = config.encryption.blind_index_key_ref
    if reference is not None:
        secret = resolve_secret(reference)
        assert secret is not None
        return derive_index_key(secret.encode("utf-8"))
    if isinstance(provider, LocalKeyFile):
        return derive_index_key(provider.index_secret())
    raise EncryptionConfigError(
        "encryption with KMS needs encryption.blind_index_key_ref (a secret of at least 32 "
        "characters that never changes)"
    )


def field_protection(
    config: Config, *, cloud: bool = False, known_kek_ids: KnownKekIds | None = None
) -> FieldProtection | None:
    """What the load seals with; None when encryption is off."""
    settings = config.encryption
    if not settings.enabled:
        return None
    provider = key_provider(config, cloud=cloud, known_kek_ids=known_kek_ids)
    return FieldProtection(
        keys=provider, index_key=index_key(config, provider), columns=settings.columns
    )
