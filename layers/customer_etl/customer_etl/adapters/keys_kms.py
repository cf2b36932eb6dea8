"""The cloud key-encryption key: AWS KMS, through GenerateDataKey, Decrypt and ReEncrypt.

KMS never hands out its key: it returns a data key in plaintext and wrapped, and unwraps a
wrapped one. Each call carries an encryption context, which KMS binds to the wrap and logs
in CloudTrail. KMS rotates the key material of a key itself (automatic or on-demand
rotation) and keeps the old material to decrypt old wraps, so a rotation here only has
work to do when the configured key changes: it then re-encrypts every wrap to the new key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from customer_etl.adapters.aws_client import aws_client
from customer_etl.adapters.aws_errors import aws_failure
from customer_etl.core.errors import AwsServiceUnavailableError, CustomerEtlError
from customer_etl.core.ports import DataKey


class KmsKeyError(CustomerEtlError):
    """KMS refused or failed a call: the message names the call and the error class."""


class KmsKeyProvider:
    """A `KeyProvider` over one KMS key (id, ARN or alias).

    Example:
        >>> provider = KmsKeyProvider("alias/customer-etl", region="eu-west-2")
        >>> provider.key_id
        'alias/customer-etl'
    """

    def __init__(self, key_id: str, region: str | None = None) -> None:
        self.key_id = key_id
        self._region = region

    def _client(self) -> Any:
        # Created per call, not at import: Lambda and moto both need that.
        return aws_client("kms", self._region)

    def _call(self, operation: str, **parameters: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._client(), operation)(**parameters)
        except (ClientError, BotoCoreError) as error:
            if isinstance(failure := aws_failure(error), AwsServiceUnavailableError):
                raise failure from None  # throttling passes: the task retries it
            raise KmsKeyError(
                f"KMS {operation} with key {self.key_id} failed ({type(error).__name__}): "
                "check the key exists, is enabled, and that this function may use it"
            ) from None
        return response

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        response = self._call(
            "generate_data_key",
            KeyId=self.key_id,
            KeySpec="AES_256",
            EncryptionContext=dict(context),
        )
        arn = str(response["KeyId"])
        return DataKey(
            plaintext=bytes(response["Plaintext"]),
            wrapped=bytes(response["CiphertextBlob"]),
            kek_id=arn,
            kek_version=arn,
        )

    def unwrap(self, wrapped: bytes, kek_version: str, context: Mapping[str, str]) -> bytes:
        response = self._call(
            "decrypt", CiphertextBlob=wrapped, KeyId=kek_version, EncryptionContext=dict(context)
        )
        return bytes(response["Plaintext"])

    def rewrap(
        self, wrapped: bytes, kek_version: str, context: Mapping[str, str]
    ) -> tuple[bytes, str]:
        response = self._call(
            "re_encrypt",
            CiphertextBlob=wrapped,
            SourceKeyId=kek_version,
            SourceEncryptionContext=dict(context),
            DestinationKeyId=self.key_id,
            DestinationEncryptionContext=dict(context),
        )
        return bytes(response["CiphertextBlob"]), str(response["KeyId"])

    def current_version(self) -> tuple[str, str]:
        arn = str(self._call("describe_key", KeyId=self.key_id)["KeyMetadata"]["Arn"])
        return arn, arn

    def add_version(self, after: str | None = None) -> tuple[str, str]:
        """KMS rotates key material itself and keeps the old material: nothing to add
        (`after`, the version a rotation saw, changes nothing here)."""
        return self.current_version()
