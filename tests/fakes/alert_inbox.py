"""An SNS alert topic with an SQS queue subscribed to it, under moto: what a test reads to
see the alerts a function published."""

from __future__ import annotations

from typing import Any

import boto3

from tests.fakes.lambda_invoke import REGION


def alert_inbox() -> tuple[str, Any, str]:
    """(topic ARN, SQS client, inbox queue URL); call inside `mock_aws()`."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    return topic, sqs, inbox
