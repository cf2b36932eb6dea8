"""The alarms on the pipeline's own metrics, the run-duration anomaly detector and the
operators' dashboard.

Metric names and dimension sets come from `customer_etl.observability.metric_names`, the
module the runtime emits them with: CloudWatch matches a dimension set exactly, so an alarm on
a set the code does not emit would wait for data forever.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from customer_etl.config.alarms import AlarmSettings
from customer_etl.config.model import QualitySettings
from customer_etl.observability import metric_names
from infra.constructs.compliance_widgets import compliance_rows
from infra.constructs.functions import STAGES
from infra.constructs.schedules import HEALTH_CHECK_MINUTES

RUN_PERIOD = Duration.minutes(5)
"""Run-level metrics arrive once per run: a short period raises the alarm minutes after the
run that caused it."""

DURATION_PERIOD = Duration.hours(1)
"""Runs are a few a day; an hour holds at most a few, so the band compares like with like."""

DURATION_STATISTIC = "Maximum"
"""The slowest run of the hour; the anomaly detector models the same statistic."""

REPORT_ERRORS_PERIOD = Duration.days(1)
"""The report runs once a day (and once more on Mondays): a day-long period holds one
scheduled report and its retries, and keeps the alarm raised until the next day's report."""

API_STAGE = "enrich"
"""The `stage` dimension of the enrichment APIs' metrics (observability/api_metrics.py)."""

WAREHOUSE_STAGE = "load"
"""The stage whose reports carry the warehouse counters (adapters/warehouse/metrics.py)."""

WAREHOUSE_METRICS = ("DbStatements", "DbCommits", "DbRollbacks", "DbSavepointRollbacks")
WAREHOUSE_TIMINGS = ("DbStatementTime", "DbPoolWait")

FUNCTION_PERIOD = Duration.minutes(5)
QUEUE_PERIOD = Duration.minutes(5)
REPORT_FUNCTION = "report"
"""Whose errors alarm over a day (report-failed), not five minutes."""

FULL_WIDTH = 24
HALF_WIDTH = 12
THIRD_WIDTH = 8
GRAPH_HEIGHT = 6


def quality_score_threshold(settings: AlarmSettings, quality: QualitySettings) -> float | None:
    """The quality score the alarm goes off below: the alarm's own setting, else the score
    runs warn below; None (no alarm) when neither is set."""
    if settings.min_quality_score is not None:
        return settings.min_quality_score
    return quality.warn_below_quality_score


def quarantine_percent_threshold(settings: AlarmSettings, quality: QualitySettings) -> float | None:
    """The quarantined percentage the alarm goes off above: the alarm's own setting, else
    the share runs warn above, as a percentage; None (no alarm) when neither is set."""
    if settings.max_quarantine_percent is not None:
        return settings.max_quarantine_percent
    if quality.warn_bad_ratio is None:
        return None
    # Rounded: 0.07 * 100 is 7.000000000000001 in binary floating point.
    return round(quality.warn_bad_ratio * 100, 9)


def api_slug(api: str) -> str:
    """`postcodes.io` -> `postcodes-io`: an API name as it may appear in an alarm name."""
    return api.replace(".", "-").replace("_", "-")


class Monitoring(Construct):
    """Alarms that publish to the alert topic, and a dashboard in four sections: pipeline
    health, data quality, API health, warehouse.

    The data-quality alarms take their thresholds from `settings`, or from the `quality`
    warning thresholds where `settings` leaves them unset (the default), so that the cloud
    alarms on the runs that warn; a check whose warning is off too gets no alarm.

    The failed-execution alarm stays in `Alerting` (moving it would replace an alarm of the
    same name, and CloudFormation would delete the new one with the old); it is passed in
    so that the dashboard shows it with the others.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        settings: AlarmSettings,
        quality: QualitySettings,
        topic: sns.ITopic,
        state_machine: sfn.IStateMachine,
        failed_executions: cloudwatch.IAlarm,
        report: lambda_.IFunction,
        dead_letters: sqs.IQueue,
        event_rules: Sequence[events.IRule],
        functions: Mapping[str, lambda_.IFunction] | None = None,
        quarantine: sqs.IQueue | None = None,
        quarantine_dead_letters: sqs.IQueue | None = None,
        log_groups: Sequence[logs.ILogGroup] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self._env_name = env_name
        self._log_groups = log_groups
        self._action = cloudwatch_actions.SnsAction(topic)
        self._min_quality_score = quality_score_threshold(settings, quality)
        self._max_quarantine_percent = quarantine_percent_threshold(settings, quality)

        self.quality_score: cloudwatch.Alarm | None = None
        if self._min_quality_score is not None:
            self.quality_score = self._alarm(
                "QualityScoreLow",
                name="quality-score-low",
                description=(
                    f"A customer-etl run scored below {self._min_quality_score:g} for data "
                    "quality. Read the run summary's rule counts and the quarantine; fix the "
                    "source file or the rules (docs/runbook.md)."
                ),
                metric=run_metric(metric_names.RUN_QUALITY_SCORE, "Minimum"),
                threshold=self._min_quality_score,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                # A period without runs has no score: that is not bad data.
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        self.quarantine_percent: cloudwatch.Alarm | None = None
        if self._max_quarantine_percent is not None:
            self.quarantine_percent = self._alarm(
                "QuarantinePercentHigh",
                name="quarantine-percent-high",
                description=(
                    "A customer-etl run quarantined more than "
                    f"{self._max_quarantine_percent:g}% of its rows. Read the quarantine "
                    "queue and the run summary's reason codes (docs/runbook.md)."
                ),
                metric=run_metric(metric_names.RUN_QUARANTINE_PERCENT, "Maximum"),
                threshold=self._max_quarantine_percent,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                # A period without runs quarantined nothing.
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        self.breaker_open: dict[str, cloudwatch.Alarm] = {}
        for api in metric_names.API_NAMES:
            slug = api_slug(api)
            self.breaker_open[api] = self._alarm(
                f"BreakerOpen{slug.title().replace('-', '')}",
                name=f"breaker-open-{slug}",
                description=(
                    f"The circuit breaker of {api} opened: the API failed repeatedly and "
                    "enrichment falls back until it recovers. Check the API's status page "
                    "and the ApiErrors metric (docs/runbook.md)."
                ),
                metric=breaker_metric(api),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                # The metric is only emitted when a circuit opens: silence is the good case.
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        self.unhealthy = self._alarm(
            "Unhealthy",
            name="unhealthy",
            description=(
                "The scheduled customer-etl health check found an unhealthy component, or "
                "stopped reporting. Read the health function's log for which one "
                "(docs/runbook.md)."
            ),
            metric=run_metric(
                metric_names.HEALTH_UNHEALTHY,
                "Maximum",
                period=Duration.minutes(HEALTH_CHECK_MINUTES),
            ),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=settings.health_failed_checks,
            # The check reports every five minutes, 0 when all is well: silence means the
            # check itself is broken (or cannot start), which is as bad as a failed check.
            missing=cloudwatch.TreatMissingData.BREACHING,
        )
        self.report_failed = self._alarm(
            "ReportFailed",
            name="report-failed",
            description=(
                "The scheduled customer-etl period report failed: the day's (or week's) "
                "report may be missing from the reports bucket and unannounced. Read the "
                "report function's log for the error, fix it, then invoke the function with "
                '{"period": "daily"} or {"period": "weekly"} (docs/reports.md).'
            ),
            metric=report.metric_errors(period=REPORT_ERRORS_PERIOD, statistic="Sum"),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # The function runs once or twice a day: a day without an invocation has no
            # errors, and the failed one keeps the alarm raised for the day.
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.duration_detector, self.duration_anomaly = self._duration_anomaly(settings)
        # What happens outside a run: an event that could not be delivered (a landed file
        # whose run did not start, a status event whose failure was not recorded), and
        # executions that timed out or were aborted.
        self.dead_letters = self._alarm(
            "EventsDeadLettered",
            name="events-dead-lettered",
            description=(
                "An event of customer-etl could not be delivered after its retries and waits "
                "in the events dead-letter queue: a landed file whose run did not start, or a "
                "status event whose run was not recorded. Read the message, fix the cause, "
                "then start the run or invoke the function with it (docs/runbook.md)."
            ),
            metric=dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.failed_invocations = [
            self._alarm(
                f"FailedInvocations{index}",
                name=f"rule-failed-invocations-{index}",
                description=(
                    "EventBridge could not invoke a customer-etl rule's target (its function "
                    "was throttled, missing or not permitted); undelivered events go to the "
                    "events dead-letter queue (docs/runbook.md)."
                ),
                metric=cloudwatch.Metric(
                    namespace="AWS/Events",
                    metric_name="FailedInvocations",
                    dimensions_map={"RuleName": rule.rule_name},
                    period=Duration.minutes(5),
                    statistic="Sum",
                ),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for index, rule in enumerate(event_rules, start=1)
        ]
        self.executions_stopped = self._alarm(
            "ExecutionsTimedOutOrAborted",
            name="executions-timed-out-or-aborted",
            description=(
                "A customer-etl execution timed out or was aborted. Its run is recorded as "
                "failed by the run-status function; redrive the execution once the cause is "
                "fixed (docs/runbook.md)."
            ),
            metric=cloudwatch.MathExpression(
                expression="timedOut + aborted",
                using_metrics={
                    "timedOut": state_machine.metric_timed_out(statistic="Sum"),
                    "aborted": state_machine.metric_aborted(statistic="Sum"),
                },
                period=Duration.minutes(5),
            ),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        self.function_errors, self.function_throttles = self._function_alarms(functions or {})
        self.queue_alarms = self._queue_alarms(
            settings,
            quarantine=quarantine,
            quarantine_dead_letters=quarantine_dead_letters,
            events_dead_letters=dead_letters,
        )
        self._functions = dict(functions or {})
        self._queues = {
            name: queue
            for name, queue in (
                ("quarantine", quarantine),
                ("quarantine-dlq", quarantine_dead_letters),
                ("events-dlq", dead_letters),
            )
            if queue is not None
        }

        quality_alarms = [self.quality_score, self.quarantine_percent]
        self.alarms: list[cloudwatch.IAlarm] = [
            failed_executions,
            *(alarm for alarm in quality_alarms if alarm is not None),
            *self.breaker_open.values(),
            self.unhealthy,
            self.report_failed,
            self.duration_anomaly,
            self.dead_letters,
            *self.failed_invocations,
            self.executions_stopped,
            *self.function_errors.values(),
            *self.function_throttles.values(),
            *self.queue_alarms.values(),
        ]
        self.dashboard = self._dashboard(settings, state_machine)

    def _alarm(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        missing: cloudwatch.TreatMissingData,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"customer-etl-{self._env_name}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        return alarm

    def _on_any(
        self, construct_id: str, name: str, description: str, metric: cloudwatch.IMetric
    ) -> cloudwatch.Alarm:
        """An alarm on the first occurrence in a period; a period without data is quiet."""
        return self._alarm(
            construct_id,
            name=name,
            description=description,
            metric=metric,
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _function_alarms(
        self, functions: Mapping[str, lambda_.IFunction]
    ) -> tuple[dict[str, cloudwatch.Alarm], dict[str, cloudwatch.Alarm]]:
        """Per function: any error, and any throttle, in five minutes. A stage's error is
        retried by its task and may end well, but it says something broke; a throttle
        says the account's concurrency is too small for `aws.max_concurrency`. The report
        function's errors have their own day-long alarm (report-failed)."""
        errors: dict[str, cloudwatch.Alarm] = {}
        throttles: dict[str, cloudwatch.Alarm] = {}
        for name, function in functions.items():
            slug = api_slug(name)
            title = slug.title().replace("-", "")
            if name != REPORT_FUNCTION:
                errors[name] = self._on_any(
                    f"{title}Errors",
                    f"{slug}-errors",
                    f"The customer-etl {name} function raised an error. Read its log group "
                    "for the error class and the run id (docs/runbook.md).",
                    function.metric_errors(period=FUNCTION_PERIOD, statistic="Sum"),
                )
            throttles[name] = self._on_any(
                f"{title}Throttles",
                f"{slug}-throttles",
                f"The customer-etl {name} function was throttled: the account's Lambda "
                "concurrency is short of what the runs ask (lower aws.max_concurrency or "
                "raise the quota; docs/scaling.md).",
                function.metric_throttles(period=FUNCTION_PERIOD, statistic="Sum"),
            )
        return errors, throttles

    def _queue_alarms(
        self,
        settings: AlarmSettings,
        *,
        quarantine: sqs.IQueue | None,
        quarantine_dead_letters: sqs.IQueue | None,
        events_dead_letters: sqs.IQueue,
    ) -> dict[str, cloudwatch.Alarm]:
        """The quarantine queue's depth and age (nobody reads it), and how long messages
        wait in the dead-letter queues (the events one's depth alarm is above)."""
        alarms: dict[str, cloudwatch.Alarm] = {}
        hour = 3600
        if quarantine is not None:
            alarms["quarantine-depth"] = self._alarm(
                "QuarantineDepth",
                name="quarantine-depth",
                description=(
                    f"The quarantine queue holds {settings.quarantine_max_messages} notices "
                    "or more: nobody is reading them. Read and act on them "
                    "(docs/runbook.md, Quarantine)."
                ),
                metric=quarantine.metric_approximate_number_of_messages_visible(
                    period=QUEUE_PERIOD, statistic="Maximum"
                ),
                threshold=settings.quarantine_max_messages,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        if quarantine_dead_letters is not None:
            alarms["quarantine-dlq-depth"] = self._on_any(
                "QuarantineDeadLettered",
                "quarantine-dead-lettered",
                "A quarantine notice failed to be processed five times and waits in the "
                "quarantine dead-letter queue. Read it and redrive it to the quarantine queue "
                "once its reader is fixed (docs/runbook.md).",
                quarantine_dead_letters.metric_approximate_number_of_messages_visible(
                    period=QUEUE_PERIOD, statistic="Maximum"
                ),
            )
        dead_letter_age = (
            f"A message has waited over {settings.dead_letter_max_age_hours:g} hours in a "
            "customer-etl dead-letter queue: it is still not dealt with (docs/runbook.md)."
        )
        ages = (
            (
                "quarantine-age",
                quarantine,
                "QuarantineAge",
                settings.quarantine_max_age_hours,
                f"The oldest quarantine notice is over {settings.quarantine_max_age_hours:g} "
                "hours old; SQS deletes it after 14 days unread (docs/runbook.md, Quarantine).",
            ),
            (
                "quarantine-dlq-age",
                quarantine_dead_letters,
                "QuarantineDeadLetterAge",
                settings.dead_letter_max_age_hours,
                dead_letter_age,
            ),
            (
                "events-dlq-age",
                events_dead_letters,
                "EventsDeadLetterAge",
                settings.dead_letter_max_age_hours,
                dead_letter_age,
            ),
        )
        for key, queue, construct_id, hours, description in ages:
            if queue is None:
                continue
            alarms[key] = self._alarm(
                construct_id,
                name=key,
                description=description,
                metric=queue.metric_approximate_age_of_oldest_message(
                    period=QUEUE_PERIOD, statistic="Maximum"
                ),
                threshold=hours * hour,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        return alarms

    def _duration_anomaly(
        self, settings: AlarmSettings
    ) -> tuple[cloudwatch.CfnAnomalyDetector, cloudwatch.AnomalyDetectionAlarm]:
        """A band learned from past run durations, and an alarm for a run outside it.

        On `RunDurationSeconds` rather than the state machine's `ExecutionTime`: it is the
        duration the run summary reports, measured the same way locally and in the cloud,
        and it leaves out failed executions, whose short durations would teach the band that
        failing fast is normal (the failed-execution alarm already covers them).
        """
        metric = run_metric(metric_names.RUN_DURATION, DURATION_STATISTIC, period=DURATION_PERIOD)
        # Declared, not left for the alarm to create implicitly, so that the model's metric
        # and statistic are visible in the template and removed with the stack.
        detector = cloudwatch.CfnAnomalyDetector(
            self,
            "RunDurationModel",
            single_metric_anomaly_detector=cloudwatch.CfnAnomalyDetector.SingleMetricAnomalyDetectorProperty(
                namespace=metric_names.NAMESPACE,
                metric_name=metric_names.RUN_DURATION,
                dimensions=[
                    cloudwatch.CfnAnomalyDetector.DimensionProperty(name=name, value=value)
                    for name, value in metric_names.RUN_DIMENSIONS.items()
                ],
                stat=DURATION_STATISTIC,
            ),
        )
        alarm = cloudwatch.AnomalyDetectionAlarm(
            self,
            "RunDurationAnomaly",
            alarm_name=f"customer-etl-{self._env_name}-run-duration-anomaly",
            alarm_description=(
                "A customer-etl run took much longer (or much shorter) than runs usually do "
                "at this time. Compare the file's row count with recent runs and read the "
                "stage durations (docs/runbook.md)."
            ),
            metric=metric,
            std_devs=settings.duration_band_standard_deviations,
            # Too slow and too fast both matter: a run that ends early may have read a
            # truncated file or skipped its enrichment.
            comparison_operator=(
                cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD
            ),
            evaluation_periods=1,
            # An hour without runs is not an anomaly; the model also needs no filler.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._action)
        alarm.node.add_dependency(detector)
        return detector, alarm

    def _dashboard(
        self, settings: AlarmSettings, state_machine: sfn.IStateMachine
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"customer-etl-{self._env_name}",
            default_interval=Duration.days(7),
        )
        duration = run_metric(metric_names.RUN_DURATION, DURATION_STATISTIC, DURATION_PERIOD)
        for title, rows in (
            ("Pipeline health", self._pipeline_health(state_machine, duration, settings)),
            ("Data quality", self._data_quality()),
            ("API health", self._api_health()),
            ("Warehouse", self._warehouse()),
            ("Functions and queues", self._functions_and_queues()),
            # The breach indicators the logs hold (infra/constructs/compliance_widgets.py).
            *((("Compliance", compliance_rows(self._log_groups)),) if self._log_groups else ()),
        ):
            dashboard.add_widgets(section(title))
            for row in rows:
                dashboard.add_widgets(*row)
        return dashboard

    def _pipeline_health(
        self,
        state_machine: sfn.IStateMachine,
        duration: cloudwatch.Metric,
        settings: AlarmSettings,
    ) -> list[list[cloudwatch.IWidget]]:
        width = settings.duration_band_standard_deviations
        band = cloudwatch.MathExpression(
            expression=f"ANOMALY_DETECTION_BAND(m1, {width:g})",
            using_metrics={"m1": duration},
            label="Expected range",
            period=DURATION_PERIOD,
        )
        return [
            [
                cloudwatch.AlarmStatusWidget(
                    title="Alarms", alarms=self.alarms, width=FULL_WIDTH, height=3
                )
            ],
            [
                graph(
                    "Executions",
                    [
                        state_machine.metric_started(label="Started"),
                        state_machine.metric_succeeded(label="Succeeded"),
                        state_machine.metric_failed(label="Failed"),
                        state_machine.metric_timed_out(label="Timed out"),
                        state_machine.metric_aborted(label="Aborted"),
                    ],
                    width=THIRD_WIDTH,
                ),
                graph("Run duration (s)", [duration, band], width=THIRD_WIDTH),
                graph(
                    "Failed runs and stage attempts",
                    [
                        # RunsFailed counts each failed run once; StageFailures counts every
                        # failed attempt, retries that later succeeded included.
                        run_metric(metric_names.RUNS_FAILED, "Sum", label="Failed runs"),
                        *(
                            stage_metric("StageFailures", stage, "Sum", label=stage)
                            for stage in STAGES
                        ),
                    ],
                    width=THIRD_WIDTH,
                ),
            ],
        ]

    def _data_quality(self) -> list[list[cloudwatch.IWidget]]:
        return [
            [
                graph(
                    "Run quality score (0-100)",
                    [run_metric(metric_names.RUN_QUALITY_SCORE, "Minimum")],
                    width=THIRD_WIDTH,
                    line=_line(self._min_quality_score, "Alarm below"),
                ),
                graph(
                    "Rows quarantined (%)",
                    [run_metric(metric_names.RUN_QUARANTINE_PERCENT, "Maximum")],
                    width=THIRD_WIDTH,
                    line=_line(self._max_quarantine_percent, "Alarm above"),
                ),
                graph(
                    "Rows quarantined per stage",
                    [
                        stage_metric("RowsQuarantined", stage, "Sum", label=stage)
                        for stage in STAGES
                    ],
                    width=THIRD_WIDTH,
                ),
            ],
            [
                graph(
                    "Rows in and loaded",
                    [
                        stage_metric("RowsIn", STAGES[0], "Sum", label="Read"),
                        stage_metric("RowsOut", STAGES[-1], "Sum", label="Loaded"),
                    ],
                    width=FULL_WIDTH,
                ),
            ],
        ]

    def _api_health(self) -> list[list[cloudwatch.IWidget]]:
        apis = metric_names.API_NAMES
        errors = cloudwatch.MathExpression(
            # One line per API and error kind, whatever kinds occur: the kinds are not
            # known in advance, so the metrics are found by search.
            expression=(
                f"SEARCH('{{{metric_names.NAMESPACE},api,error_kind,service,stage}} "
                "MetricName=\"ApiErrors\"', 'Sum', 300)"
            ),
            label="",
            period=RUN_PERIOD,
        )
        return [
            [
                graph("Calls", [api_metric("ApiCalls", api, "Sum") for api in apis]),
                graph("Errors", [errors]),
                graph(
                    "Latency p95 (ms)",
                    [api_metric("ApiLatencyP95", api, "Maximum") for api in apis],
                ),
            ],
            [
                graph(
                    "Rows that fell back",
                    [api_metric("ApiFallbackRows", api, "Sum") for api in apis],
                ),
                graph("Circuit opened", [breaker_metric(api) for api in apis]),
                graph(
                    "Unhealthy components",
                    [
                        run_metric(
                            metric_names.HEALTH_UNHEALTHY,
                            "Maximum",
                            period=Duration.minutes(HEALTH_CHECK_MINUTES),
                        )
                    ],
                ),
            ],
        ]

    def _warehouse(self) -> list[list[cloudwatch.IWidget]]:
        return [
            [
                graph(
                    "Statements and transactions",
                    [
                        stage_metric(name, WAREHOUSE_STAGE, "Sum", label=name)
                        for name in WAREHOUSE_METRICS
                    ],
                    width=HALF_WIDTH,
                ),
                graph(
                    "Statement time and pool wait (ms)",
                    [
                        stage_metric(name, WAREHOUSE_STAGE, "Sum", label=name)
                        for name in WAREHOUSE_TIMINGS
                    ],
                    width=HALF_WIDTH,
                ),
            ],
        ]

    def _functions_and_queues(self) -> list[list[cloudwatch.IWidget]]:
        functions = self._functions.items()
        queues = self._queues.items()
        return [
            [
                graph(
                    "Function errors",
                    [f.metric_errors(label=n, statistic="Sum") for n, f in functions],
                    width=HALF_WIDTH,
                ),
                graph(
                    "Function throttles",
                    [f.metric_throttles(label=n, statistic="Sum") for n, f in functions],
                    width=HALF_WIDTH,
                ),
            ],
            [
                graph(
                    "Queue depth (messages)",
                    [
                        q.metric_approximate_number_of_messages_visible(
                            label=n, statistic="Maximum"
                        )
                        for n, q in queues
                    ],
                    width=HALF_WIDTH,
                ),
                graph(
                    "Oldest message (s)",
                    [
                        q.metric_approximate_age_of_oldest_message(label=n, statistic="Maximum")
                        for n, q in queues
                    ],
                    width=HALF_WIDTH,
                ),
            ],
        ]


def run_metric(
    name: str, statistic: str, period: Duration = RUN_PERIOD, *, label: str | None = None
) -> cloudwatch.Metric:
    """A metric with the run-level dimension set (`service` only)."""
    return cloudwatch.Metric(
        namespace=metric_names.NAMESPACE,
        metric_name=name,
        dimensions_map=dict(metric_names.RUN_DIMENSIONS),
        statistic=statistic,
        period=period,
        label=label,
    )


def breaker_metric(api: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=metric_names.NAMESPACE,
        metric_name=metric_names.BREAKER_OPENED,
        dimensions_map={**metric_names.RUN_DIMENSIONS, "api": api},
        statistic="Sum",
        period=RUN_PERIOD,
        label=api,
    )


def stage_metric(name: str, stage: str, statistic: str, *, label: str) -> cloudwatch.Metric:
    """A metric a stage handler emits: Powertools adds `service` to the handler's `stage`."""
    return cloudwatch.Metric(
        namespace=metric_names.NAMESPACE,
        metric_name=name,
        dimensions_map={**metric_names.RUN_DIMENSIONS, "stage": stage},
        statistic=statistic,
        period=RUN_PERIOD,
        label=label,
    )


def api_metric(name: str, api: str, statistic: str) -> cloudwatch.Metric:
    """An enrichment API's figure (observability/api_metrics.py): `service`, `stage` and `api`."""
    return cloudwatch.Metric(
        namespace=metric_names.NAMESPACE,
        metric_name=name,
        dimensions_map={**metric_names.RUN_DIMENSIONS, "stage": API_STAGE, "api": api},
        statistic=statistic,
        period=RUN_PERIOD,
        label=api,
    )


def _line(threshold: float | None, label: str) -> tuple[float, str] | None:
    """A threshold line for a graph, none where there is no alarm."""
    return None if threshold is None else (threshold, label)


def section(title: str) -> cloudwatch.TextWidget:
    """A heading across the dashboard; the tests find the four sections by these."""
    return cloudwatch.TextWidget(markdown=f"## {title}", width=FULL_WIDTH, height=1)


def graph(
    title: str,
    metrics: Sequence[cloudwatch.IMetric],
    *,
    width: int = THIRD_WIDTH,
    line: tuple[float, str] | None = None,
) -> cloudwatch.GraphWidget:
    annotations = [cloudwatch.HorizontalAnnotation(value=line[0], label=line[1])] if line else None
    return cloudwatch.GraphWidget(
        title=title,
        left=list(metrics),
        left_annotations=annotations,
        width=width,
        height=GRAPH_HEIGHT,
    )
