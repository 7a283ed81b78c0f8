"""Analytics: the results bucket, the Glue table over it and an Athena workgroup with named queries.

The table is the Athena side of the result record contract (README, "Result records"). Partition
projection on ``dt`` means no crawler and no ``MSCK REPAIR``: a new day's results are queryable as
soon as they are written.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.buckets import secure_bucket
from infra.queries import description, named_query_sql
from infra.results_schema import (  # noqa: F401 (re-exported: the stack's analytics names)
    ATHENA_RESULTS_PREFIX,
    PARTITION_KEY,
    RESULT_COLUMNS,
    RESULTS_PREFIX,
    TABLE_NAME,
)


class Analytics(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str | None,
        database_name: str,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account

        self.results_bucket = secure_bucket(
            self,
            "ResultsBucket",
            bucket_name=bucket_name,
            access_logs=access_logs,
            access_logs_prefix="results-bucket/",
            lifecycle_rules=[
                # Query outputs are scratch; old versions are results a repeat event overwrote.
                s3.LifecycleRule(
                    id="expire-athena-results", prefix=ATHENA_RESULTS_PREFIX, expiration=Duration.days(30)
                ),
                s3.LifecycleRule(
                    id="tidy-versions",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )
        results_location = f"s3://{self.results_bucket.bucket_name}/{RESULTS_PREFIX}"

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="labelwatch detection results"
            ),
        )
        self.table = glue.CfnTable(
            self,
            "ResultsTable",
            catalog_id=account,
            database_name=self.database.ref,  # Ref is the database name; also orders creation
            table_input=glue.CfnTable.TableInputProperty(
                name=TABLE_NAME,
                description="One row per detected label (one null-label row per image without any)",
                table_type="EXTERNAL_TABLE",
                parameters={
                    "EXTERNAL": "TRUE",
                    "classification": "json",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": "2024-01-01,NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    "storage.location.template": results_location + PARTITION_KEY + "=${dt}/",
                },
                partition_keys=[
                    glue.CfnTable.ColumnProperty(
                        name=PARTITION_KEY, type="string", comment="UTC day of the upload, yyyy-MM-dd"
                    )
                ],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=results_location,
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=type_, comment=comment)
                        for name, type_, comment in RESULT_COLUMNS
                    ],
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"serialization.format": "1"},
                    ),
                ),
            ),
        )

        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=database_name,
            description="labelwatch: queries over the detection results",
            recursive_delete_option=True,  # stack deletion must not fail on saved queries/history
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results_bucket.bucket_name}/{ATHENA_RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )

        self.named_queries: dict[str, athena.CfnNamedQuery] = {}
        for name, sql in named_query_sql().items():
            query = athena.CfnNamedQuery(
                self,
                f"Query-{name}",
                name=name,
                description=description(sql) or name,
                database=self.database.ref,
                work_group=self.workgroup.ref,  # Ref is the workgroup name
                query_string=sql,
            )
            self.named_queries[name] = query
