"""The secrets a run needs exist after a deploy, and no credential is ever in the template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_cdk.assertions import Template

from infra.constructs.secrets import KEY_LENGTH, secret_specs

if TYPE_CHECKING:
    from conftest import AppFactory, Synth

CREDENTIAL_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_?KEY|CREDENTIAL", re.IGNORECASE)
"""Environment variable names that would hold a credential; the stack's only name with KEY in
it is the field key's id (an ARN), matched by `KMS_KEY_ID`, not by these."""

CREDENTIAL_TEXT = (
    re.compile(r"AKIA[0-9A-Z]{16}"),  # an access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"://[^/\s\"]+:[^@/\s\"]+@"),  # a URL with a password
    re.compile(r"\"SecretString\""),
    re.compile(r"\"SecretStringValue\""),
)


def _secret_names(template: Template) -> list[str]:
    return [
        secret["Properties"]["Name"]
        for secret in template.find_resources("AWS::SecretsManager::Secret").values()
    ]


def _dev_template(app_factory: AppFactory, outdir: Path, environ: dict[str, str]) -> Template:
    _app, stack = app_factory("dev", outdir=outdir, environ=environ)
    return Template.from_stack(stack)


def _secrets(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        secret["Properties"]["Name"]: secret
        for secret in synth.of_type("AWS::SecretsManager::Secret").values()
    }


def test_the_stack_creates_every_secret_a_run_reads(synth: Synth) -> None:
    references = [spec.reference for spec in secret_specs(synth.config)]
    expected = {
        reference.removeprefix("secretsmanager:")
        for reference in references
        if reference is not None
    }
    # Every environment reads the warehouse password, the Companies House key and the
    # blind-index key; the non-production ones the masking key too.
    assert len(expected) == (3 if synth.env == "prod" else 4)
    assert set(_secrets(synth)) == expected


def test_every_secret_is_generated_at_deploy_time_under_the_pipeline_key(synth: Synth) -> None:
    key_ids = [
        logical_id
        for logical_id, key in synth.of_type("AWS::KMS::Key").items()
        if "buckets" in key["Properties"]["Description"]
    ]
    assert len(key_ids) == 1
    for name, secret in _secrets(synth).items():
        properties = secret["Properties"]
        assert "SecretString" not in properties, name
        generated = properties["GenerateSecretString"]
        # Long enough for the blind index's and the masking key's 32-character minimum.
        assert generated["PasswordLength"] == KEY_LENGTH >= 32, name
        assert properties["KmsKeyId"] == {"Fn::GetAtt": [key_ids[0], "Arn"]}, name
        kept = synth.config.aws.retain_data
        assert secret["DeletionPolicy"] == ("Retain" if kept else "Delete"), name


def test_no_function_environment_holds_a_credential(synth: Synth) -> None:
    for logical_id, function in synth.of_type("AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        for name, value in variables.items():
            assert not CREDENTIAL_NAME.search(name), (logical_id, name)
            # Values are names, URLs and ARNs, plain or as references to resources.
            assert isinstance(value, (str, dict)), (logical_id, name)


def test_the_template_holds_no_credential(synth: Synth) -> None:
    text = json.dumps(synth.template.to_json())
    for pattern in CREDENTIAL_TEXT:
        assert not pattern.search(text), pattern.pattern


def test_a_secret_set_in_the_synth_environment_never_reaches_the_template(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    # A masking key given by `env:` (as locally) is read by the runtime, never by the app.
    canary = "canary-masking-key-0123456789abcdefghijklmnop"
    template = _dev_template(
        app_factory,
        tmp_path,
        {
            "CUSTOMER_ETL__PRIVACY__MASKING__KEY_REF": "env:CANARY_MASKING_KEY",
            "CANARY_MASKING_KEY": canary,
        },
    )
    assert canary not in json.dumps(template.to_json())
    assert "customer-etl/dev/masking-key" not in _secret_names(template)


def test_a_secret_named_by_its_arn_is_granted_not_created(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    arn = "arn:aws:secretsmanager:eu-west-2:999999999999:secret:shared/warehouse-AbCdEf"
    template = _dev_template(
        app_factory, tmp_path, {"CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF": f"secretsmanager:{arn}"}
    )
    assert "customer-etl/dev/warehouse" not in _secret_names(template)
    assert arn in json.dumps(template.find_resources("AWS::IAM::Policy"))


LINEAGE_SENDERS = {
    f"customer-etl-dev-{name}" for name in ("extract", "transform", "enrich", "load", "run_status")
}


def _functions_allowed(template: Template, action: str, resource_part: str) -> set[str]:
    """Names of the functions whose role may do `action` on a resource naming `resource_part`."""
    roles = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            action in json.dumps(s["Action"]) and resource_part in json.dumps(s["Resource"])
            for s in statements
        ):
            roles |= {role["Ref"] for role in policy["Properties"]["Roles"]}
    return {
        function["Properties"]["FunctionName"]
        for function in template.find_resources("AWS::Lambda::Function").values()
        if function["Properties"]["Role"]["Fn::GetAtt"][0] in roles
    }


def test_lineage_over_http_gets_its_consumer_s_key_read_by_the_functions_that_send_it(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    name = "customer-etl/dev/lineage-api-key"
    template = _dev_template(
        app_factory,
        tmp_path,
        {
            "CUSTOMER_ETL__LINEAGE__TRANSPORT": "http",
            "CUSTOMER_ETL__LINEAGE__HTTP_URL": "https://datahub.internal/openapi/openlineage",
            "CUSTOMER_ETL__LINEAGE__API_KEY_REF": f"secretsmanager:{name}",
        },
    )
    [secret_id] = [
        logical
        for logical, secret in template.find_resources("AWS::SecretsManager::Secret").items()
        if secret["Properties"]["Name"] == name
    ]
    readers = _functions_allowed(template, "secretsmanager:GetSecretValue", secret_id)
    assert readers == LINEAGE_SENDERS


def test_lineage_to_datazone_lets_the_senders_post_to_that_domain_only(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    domain = "dzd_4p9n6sw4qt9xgn"
    template = _dev_template(
        app_factory,
        tmp_path,
        {
            "CUSTOMER_ETL__LINEAGE__TRANSPORT": "datazone",
            "CUSTOMER_ETL__LINEAGE__DATAZONE_DOMAIN_ID": domain,
        },
    )
    posters = _functions_allowed(template, "datazone:PostLineageEvent", f"domain/{domain}")
    assert posters == LINEAGE_SENDERS
    assert _functions_allowed(template, "datazone:", "*") == set()
