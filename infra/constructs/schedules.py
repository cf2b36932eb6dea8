"""EventBridge Scheduler schedules of the health check, the retention job and the period
reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from constructs import Construct

HEALTH_CHECK_MINUTES = 5
"""How often the health function runs; the health alarm counts in these periods."""

ReportPeriod = Literal["daily", "weekly"]

REPORT_TIME_ZONE = TimeZone.EUROPE_LONDON
"""Reports follow the operators' clock, summer time included, not UTC."""

REPORT_SCHEDULES: Mapping[ReportPeriod, scheduler.ScheduleExpression] = {
    # 06:30, after the 03:00 retention run and before the working day: the report of the
    # day (or week) just ended is waiting when people arrive.
    "daily": scheduler.ScheduleExpression.cron(minute="30", hour="6", time_zone=REPORT_TIME_ZONE),
    "weekly": scheduler.ScheduleExpression.cron(
        minute="30", hour="6", week_day="MON", time_zone=REPORT_TIME_ZONE
    ),
}

RETENTION_SCHEDULE = scheduler.ScheduleExpression.cron(
    minute="0", hour="3", time_zone=REPORT_TIME_ZONE
)
"""Daily at 03:00 UK time, outside office hours and before the morning's files arrive (and
before the 06:30 reports, which then count the night's job)."""

RETRY_ATTEMPTS = 2
"""A throttled or failed invocation is tried twice more before the schedule gives up."""


class Schedules(Construct):
    """Runs health every five minutes, retention daily, and report daily and weekly, with
    `{"period": ...}`.

    EventBridge Scheduler rather than an EventBridge rule: it takes a time zone, so the
    reports keep to UK office hours through summer time.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        health: lambda_.IFunction,
        retention: lambda_.IFunction,
        report: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)

        # One role of ours for the three schedules, rather than the per-target roles CDK
        # would otherwise put at the top of the stack: it may invoke these three functions.
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description=f"customer-etl {env_name}: EventBridge Scheduler invokes health, "
            "retention, report",
        )

        self.health = scheduler.Schedule(
            self,
            "Health",
            schedule_name=f"customer-etl-{env_name}-health",
            description=f"customer-etl {env_name}: health check every {HEALTH_CHECK_MINUTES} "
            "minutes",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(HEALTH_CHECK_MINUTES)),
            target=scheduler_targets.LambdaInvoke(
                health,
                role=role,
                # A check older than its own interval says nothing about now: drop it.
                max_event_age=Duration.minutes(HEALTH_CHECK_MINUTES),
                retry_attempts=0,
            ),
        )

        # The retention job is idempotent (what it deleted is gone, what is left is judged
        # again), so a retried or late delivery does no harm; a day late, the next one runs.
        self.retention = scheduler.Schedule(
            self,
            "Retention",
            schedule_name=f"customer-etl-{env_name}-retention",
            description=f"customer-etl {env_name}: the daily retention job",
            schedule=RETENTION_SCHEDULE,
            target=scheduler_targets.LambdaInvoke(
                retention,
                role=role,
                max_event_age=Duration.hours(12),
                retry_attempts=RETRY_ATTEMPTS,
            ),
        )

        self.reports: dict[ReportPeriod, scheduler.Schedule] = {}
        for period, expression in REPORT_SCHEDULES.items():
            self.reports[period] = scheduler.Schedule(
                self,
                f"{period.capitalize()}Report",
                schedule_name=f"customer-etl-{env_name}-{period}-report",
                description=f"customer-etl {env_name}: the {period} report to S3 and SNS",
                schedule=expression,
                target=scheduler_targets.LambdaInvoke(
                    report,
                    role=role,
                    input=scheduler.ScheduleTargetInput.from_object({"period": period}),
                    max_event_age=Duration.hours(1),
                    retry_attempts=RETRY_ATTEMPTS,
                ),
            )
