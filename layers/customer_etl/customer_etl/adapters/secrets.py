"""Resolve secret references (`env:`, `secretsmanager:`, `ssm:`) at the moment of use."""

from __future__ import annotations

import os

from botocore.exceptions import BotoCoreError, ClientError

from customer_etl.adapters.aws_client import aws_client
from customer_etl.core.errors import CustomerEtlError


class SecretError(CustomerEtlError):
    """A secret reference could not be resolved."""


def resolve_secret(reference: str | None) -> str | None:
    """The secret a reference points to; None for no reference. Errors name the reference,
    never the value."""
    if reference is None:
        return None
    scheme, _, name = reference.partition(":")
    if scheme == "env":
        value = os.environ.get(name)
        if value is None:
            raise SecretError(f"secret reference {reference}: environment variable is not set")
        return value
    try:
        if scheme == "secretsmanager":
            client = aws_client("secretsmanager")
            return str(client.get_secret_value(SecretId=name)["SecretString"])
        if scheme == "ssm":
            client = aws_client("ssm")
            response = client.get_parameter(Name=name, WithDecryption=True)
            return str(response["Parameter"]["Value"])
    except (ClientError, BotoCoreError) as error:
        raise SecretError(
            f"secret reference {reference} could not be read ({type(error).__name__}): check "
            "that it exists and that this function may read it"
        ) from None
    raise SecretError(f"secret reference {reference}: unknown scheme {scheme}")
