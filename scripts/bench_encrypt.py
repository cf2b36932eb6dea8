"""Measure our field-level envelope encryption against Powertools' data masking `encrypt`
(AWS Encryption SDK provider), both against moto's KMS, in the same run.

    .venv/bin/python scripts/bench_encrypt.py --values 1000000 --sample 500

Ours: one data key per run from KMS GenerateDataKey, then AES-256-GCM per value in this
process, with the table, column and record key as associated data, in chunks as the load
stage runs (blind indexes of email and phone included). Powertools: one `encrypt` call per
value, as field-level use of it would need (its encrypt takes whole payloads). KMS calls
are counted for both at the botocore client, whichever session made the client.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections import Counter
from typing import Any

import boto3
import botocore.client
import pandas as pd
from moto import mock_aws

from customer_etl.adapters.keys_kms import KmsKeyProvider
from customer_etl.core.ports import DataKey
from customer_etl.privacy.blind_index import derive_index_key
from customer_etl.privacy.envelope import FieldProtection, associated_data, seal_values

REGION = "eu-west-2"
CHUNK_ROWS = 50_000
KMS_CALLS: Counter[str] = Counter()


def count_kms_calls() -> None:
    """Count KMS operations at the client: the Encryption SDK makes its clients from a
    botocore session of its own, so an event hook on boto3's default session misses them."""
    original = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name == "kms":
            KMS_CALLS[operation_name] += 1
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counted


def values(count: int, start: int = 0) -> pd.DataFrame:
    ids = [f"C{n:09d}" for n in range(start, start + count)]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "email": [f"customer{n}@example.com" for n in range(start, start + count)],
            "phone": None,
        }
    )


def ours(key_arn: str, count: int) -> dict[str, float]:
    before = sum(KMS_CALLS.values())
    protection = FieldProtection(
        KmsKeyProvider(key_arn, REGION), derive_index_key(os.urandom(32)), ("email",)
    )
    stored: list[DataKey] = []
    # The input is built before the clock starts: the load stage gets its chunks ready-made.
    chunks = [
        values(min(CHUNK_ROWS, count - start), start) for start in range(0, count, CHUNK_ROWS)
    ]
    started = time.perf_counter()
    sealer = protection.start_run(lambda _id, key: stored.append(key))
    sealed = 0
    for chunk in chunks:
        sealed += int(sealer.seal(chunk)["email"].notna().sum())
    seconds = time.perf_counter() - started
    return {"values": sealed, "seconds": seconds, "kms_calls": sum(KMS_CALLS.values()) - before}


def ours_aes_only(count: int) -> float:
    """Values per second of the AES-GCM step alone (no frame, no blind index)."""
    frame = values(min(count, 200_000))
    aads = [associated_data("email", key) for key in frame["customer_id"]]
    emails = frame["email"].tolist()
    started = time.perf_counter()
    seal_values(emails, aads, "0123456789abcdef", os.urandom(32))
    return len(emails) / (time.perf_counter() - started)


def powertools(key_arn: str, sample: int) -> dict[str, float]:
    from aws_lambda_powertools.utilities.data_masking import DataMasking
    from aws_lambda_powertools.utilities.data_masking.provider.kms.aws_encryption_sdk import (
        AWSEncryptionSDKProvider,
    )

    before = sum(KMS_CALLS.values())
    masking = DataMasking(provider=AWSEncryptionSDKProvider(keys=[key_arn]))
    emails = values(sample)["email"].tolist()
    started = time.perf_counter()
    for email in emails:
        masking.encrypt(email)
    seconds = time.perf_counter() - started
    return {"values": sample, "seconds": seconds, "kms_calls": sum(KMS_CALLS.values()) - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=500, help="values through Powertools")
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    count_kms_calls()
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        key_arn = str(kms.create_key()["KeyMetadata"]["Arn"])
        KMS_CALLS.clear()
        small = ours(key_arn, min(args.values, 10_000))
        large = ours(key_arn, args.values)
        aes_rate = ours_aes_only(args.values)
        theirs = powertools(key_arn, args.sample)
    our_rate = large["values"] / large["seconds"]
    their_rate = theirs["values"] / theirs["seconds"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"ours:       {large['values']:>9,.0f} values in {large['seconds']:.2f} s = "
        f"{our_rate:,.0f} values/s (AES-GCM + blind indexes, {CHUNK_ROWS:,}-row chunks); "
        f"KMS calls {large['kms_calls']:.0f}"
    )
    print(
        f"            {small['values']:>9,.0f} values: KMS calls {small['kms_calls']:.0f} "
        "(the same: one GenerateDataKey per run)"
    )
    print(f"            AES-GCM step alone: {aes_rate:,.0f} values/s")
    print(
        f"powertools: {theirs['values']:>9,.0f} values in {theirs['seconds']:.2f} s = "
        f"{their_rate:,.0f} values/s (one encrypt per value); KMS calls "
        f"{theirs['kms_calls']:.0f}"
    )
    print(f"ratio:      {our_rate / their_rate:,.0f}x per-value throughput (target: 50x)")
    print(f"peak memory (RSS): {peak_mb:,.0f} MB")
    print(f"KMS calls by operation: {dict(KMS_CALLS)}")


if __name__ == "__main__":
    main()
