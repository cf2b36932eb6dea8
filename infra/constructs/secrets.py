"""The secrets a run needs, created by the stack: the warehouse password, the Companies House
API key, the masking key and the blind-index key (and the lineage consumer's API key when
lineage goes over HTTP).

A reference in the configuration (`secretsmanager:NAME`) names the secret; the stack creates
it under that name, encrypted with the pipeline key, with a generated value, so that a first
deployment to an empty account has every secret a run reads and no value ever passes through
a file, an environment variable or the template. Two of the four are keys the pipeline
itself makes (masking, blind index): their generated values are final. The other two are
issued elsewhere (the warehouse's login, Companies House's API key): the generated value is
a placeholder the operator replaces once (docs/deployment.md, "First deployment").

A reference that is a complete ARN names a secret managed outside this stack (another
account's, say), and an `ssm:` reference a SecureString parameter: both are imported and
granted, never created. `env:` references are for local runs and create nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from customer_etl.config import Config
from infra.nag import acknowledge

KEY_LENGTH = 64
"""Characters of a generated key: 64 alphanumerics hold about 380 bits, over the blind
index's 32-character minimum and any HMAC or masking key's need."""


@dataclass(frozen=True)
class SecretSpec:
    """One secret a run reads: its construct id, what it is, and whether the generated value
    is final (a key the pipeline makes) or a placeholder (a credential issued elsewhere)."""

    construct_id: str
    reference: str | None
    description: str
    generated_is_final: bool
    rotation_note: str


def secret_specs(config: Config) -> list[SecretSpec]:
    """The secrets the configuration of one environment reads, in a stable order."""
    specs = [
        SecretSpec(
            "Warehouse",
            config.warehouse.password_ref,
            "warehouse password of the pipeline's login: set the login's password to this "
            "value, or replace the value with the login's password",
            generated_is_final=False,
            rotation_note=(
                "The warehouse is not managed by this stack (an on-premises or RDS SQL Server "
                "reached through the warehouse network): its DBA rotates the login's password "
                "and puts the new value here; AWS's hosted rotation needs the database's "
                "admin secret, which this stack does not hold."
            ),
        ),
        SecretSpec(
            "CompaniesHouseKey",
            config.enrichment.companies_house.api_key_ref,
            "Companies House API key: replace the generated placeholder with the key "
            "Companies House issued",
            generated_is_final=False,
            rotation_note=(
                "An API key issued by Companies House: only its developer hub can issue a new "
                "one, so rotation is a manual step (docs/deployment.md)."
            ),
        ),
    ]
    if config.privacy.masking.enabled:
        specs.append(
            SecretSpec(
                "MaskingKey",
                config.privacy.masking.key_ref,
                "masking key of non-production environments (generated, final)",
                generated_is_final=True,
                rotation_note=(
                    "Masked values must stay joinable across runs: a new key would mask the "
                    "same person differently, so the key is never rotated automatically."
                ),
            )
        )
    if config.encryption.enabled:
        specs.append(
            SecretSpec(
                "BlindIndexKey",
                config.encryption.blind_index_key_ref,
                "blind-index key of the encrypted columns (generated, final: never change it "
                "once rows are indexed)",
                generated_is_final=True,
                rotation_note=(
                    "The blind index is an HMAC under this key: rotating it would make every "
                    "indexed row unfindable (docs/encryption.md), so it must never rotate."
                ),
            )
        )
    if config.lineage.transport == "http":
        specs.append(
            SecretSpec(
                "LineageApiKey",
                config.lineage.api_key_ref,
                "API key of the OpenLineage consumer the run's lineage is sent to: replace "
                "the generated placeholder with the key the consumer issued",
                generated_is_final=False,
                rotation_note=(
                    "Issued by the lineage consumer (Marquez's proxy, DataHub's access "
                    "tokens): rotate it there and put the new value here."
                ),
            )
        )
    return [spec for spec in specs if spec.reference is not None]


class Secrets(Construct):
    """Every secret of `secret_specs(config)`, created or imported; `grant_read` by id."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        key: kms.IKey,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        env_name = config.environment
        self.created: dict[str, secretsmanager.Secret] = {}
        self._grantors: dict[str, secretsmanager.ISecret | ssm.IStringParameter] = {}
        for spec in secret_specs(config):
            assert spec.reference is not None
            kind, _, name = spec.reference.partition(":")
            secret_id = f"{spec.construct_id}Secret"
            if kind == "secretsmanager" and name.startswith("arn:"):
                self._grantors[spec.construct_id] = secretsmanager.Secret.from_secret_complete_arn(
                    self, secret_id, name
                )
            elif kind == "secretsmanager":
                secret = secretsmanager.Secret(
                    self,
                    secret_id,
                    secret_name=name,
                    description=f"customer-etl {env_name}: {spec.description}",
                    encryption_key=key,
                    # Generated by Secrets Manager at deploy time: the value never exists
                    # in this app, its template or its assets.
                    generate_secret_string=secretsmanager.SecretStringGenerator(
                        password_length=KEY_LENGTH,
                        exclude_punctuation=True,
                        include_space=False,
                    ),
                    # A lost key loses the blind index and the masked joins; a kept
                    # environment keeps its secrets with the stack's data.
                    removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
                )
                self.created[spec.construct_id] = secret
                self._grantors[spec.construct_id] = secret
                cfn = secret.node.default_child
                assert cfn is not None
                acknowledge(cfn, "AwsSolutions-SMG4", spec.rotation_note)
            elif kind == "ssm":
                self._grantors[spec.construct_id] = (
                    ssm.StringParameter.from_secure_string_parameter_attributes(
                        self, f"{spec.construct_id}Parameter", parameter_name=name
                    )
                )
            # `env:` references are filled in by whoever sets the process's environment.

    def grant_read(self, construct_id: str, grantees: Iterable[iam.IGrantable]) -> None:
        """Let each grantee read the secret `construct_id` (nothing for an `env:` one)."""
        grantor = self._grantors.get(construct_id)
        if grantor is None:
            return
        for grantee in grantees:
            grantor.grant_read(grantee)
