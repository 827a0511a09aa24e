"""Follow and end launches: status, logs, gpu, download, terminate. Instances are found by their tags,
so these work from any machine with the account's credentials, with no local state."""

from __future__ import annotations

import time
from pathlib import Path

from emotion.cloud import resources
from emotion.cloud.aws import Aws, AwsError
from emotion.cloud.launch import delete_prefix, launch_exists, list_keys, run_statuses, terminate_instances
from emotion.cloud.settings import LAUNCH_TAG, PROJECT, PROJECT_TAG, CloudError, prefix

LIVE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")


def project_instances(aws: Aws, launch_id: str | None = None, live_only: bool = True) -> list[dict]:
    filters = [{"Name": f"tag:{PROJECT_TAG}", "Values": [PROJECT]}]
    if launch_id:
        filters.append({"Name": f"tag:{LAUNCH_TAG}", "Values": [launch_id]})
    if live_only:
        filters.append({"Name": "instance-state-name", "Values": list(LIVE_STATES)})
    reservations = aws.read("ec2", "describe_instances", Filters=filters)["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def launch_of(instance: dict) -> str:
    return next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == LAUNCH_TAG), "?")


def require_launch(aws: Aws, bucket: str, launch_id: str) -> dict:
    spec = launch_exists(aws, bucket, launch_id)
    if spec is None:
        raise CloudError(f"launch {launch_id}: no such launch in bucket {bucket} (see `emotion cloud status`)")
    return spec


def status(aws: Aws, bucket: str, launch_id: str | None) -> str:
    if launch_id:
        require_launch(aws, bucket, launch_id)
    instances = project_instances(aws, launch_id, live_only=launch_id is None)
    runs = run_statuses(aws, bucket, launch_id) if launch_id else {}
    rows = [f"{'launch':<24} {'instance':<20} {'type':<13} {'market':<9} {'state':<13} {'run':<10} mlflow run"]
    for i in sorted(instances, key=lambda i: (launch_of(i), i["InstanceId"])):
        run = runs.pop(i["InstanceId"], {})
        rows.append(
            f"{launch_of(i):<24} {i['InstanceId']:<20} {i['InstanceType']:<13} {i.get('InstanceLifecycle', 'on-demand'):<9} "
            f"{i['State']['Name']:<13} {run.get('state', '-'):<10} {run.get('run_id') or '-'}"
        )
    for instance_id, run in runs.items():  # reported by an agent whose instance is gone (or a local test)
        rows.append(
            f"{launch_id:<24} {instance_id:<20} {'-':<13} {'-':<9} {'gone':<13} {run.get('state', '-'):<10} {run.get('run_id') or '-'}"
        )
    if len(rows) == 1:
        rows.append("(no instances)" if launch_id else "(no live instances of this project)")
    return "\n".join(rows)


def logs(aws: Aws, bucket: str, launch_id: str, follow: bool = False, write=print, poll_seconds: float = 10) -> None:
    """Print each instance's log; with follow, keep printing what is new until every run has ended."""
    require_launch(aws, bucket, launch_id)
    seen: dict[str, int] = {}
    while True:
        for key in list_keys(aws, bucket, f"{prefix(launch_id)}/logs/"):
            start = seen.get(key, 0)
            try:
                body = aws.read("s3", "get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-")["Body"].read()
            except AwsError as error:
                if error.code == "InvalidRange":  # nothing new
                    continue
                raise
            if body:
                instance = key.rsplit("/", 1)[1].removesuffix(".log")
                for line in body.decode(errors="replace").splitlines():
                    write(f"[{instance}] {line}")
                seen[key] = start + len(body)
        if not follow or _all_ended(aws, bucket, launch_id):
            return
        time.sleep(poll_seconds)


def _all_ended(aws: Aws, bucket: str, launch_id: str) -> bool:
    runs = run_statuses(aws, bucket, launch_id)
    ended = bool(runs) and all(r.get("state") in ("succeeded", "failed") for r in runs.values())
    return ended or not project_instances(aws, launch_id)


def gpu(aws: Aws, bucket: str, launch_id: str) -> str:
    """Latest GPU and system utilisation per instance, from its run's MLflow system metrics."""
    import mlflow

    spec = require_launch(aws, bucket, launch_id)
    client = mlflow.MlflowClient(tracking_uri=spec["tracking_uri"])
    lines = []
    for instance_id, run in run_statuses(aws, bucket, launch_id).items():
        if not run.get("run_id"):
            lines.append(f"[{instance_id}] no MLflow run yet")
            continue
        source = _run_with_system_metrics(client, run["run_id"])
        if source is None:
            lines.append(f"[{instance_id}] run {run['run_id']}: no system metrics yet")
            continue
        metrics = {k.removeprefix("system/"): v for k, v in source.data.metrics.items() if k.startswith("system/")}
        shown = ", ".join(f"{k} {v:.1f}" for k, v in sorted(metrics.items()))
        lines.append(f"[{instance_id}] run {source.info.run_id}: {shown}")
    return "\n".join(lines) or f"launch {launch_id}: no instance has reported yet"


def _run_with_system_metrics(client, run_id: str):
    """The run itself (training) or its newest child (a sweep's trial) that logs system metrics."""
    run = client.get_run(run_id)
    if any(k.startswith("system/") for k in run.data.metrics):
        return run
    children = client.search_runs(
        [run.info.experiment_id],
        f"tags.mlflow.parentRunId = '{run_id}'",
        order_by=["attributes.start_time DESC"],
        max_results=5,
    )
    return next((c for c in children if any(k.startswith("system/") for k in c.data.metrics)), None)


def download(run_id: str, destination: Path, tracking_uri: str) -> Path:
    """A run's artifacts, and each model it logged (MLflow 3 keeps those apart, as logged models)
    under <destination>/<model name>, through MLflow, wherever the server stores them."""
    import mlflow
    import mlflow.artifacts

    destination.mkdir(parents=True, exist_ok=True)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)  # models:/ downloads ignore a tracking_uri argument (MLflow 3.17)
    try:
        run = mlflow.MlflowClient().get_run(run_id)
        path = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(destination)))
        models = mlflow.MlflowClient().search_logged_models(
            experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'"
        )
        for model in models:
            mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{model.model_id}", dst_path=str(path / model.name)
            )
        return path
    except mlflow.exceptions.MlflowException as error:
        raise CloudError(f"download {run_id}: {str(error).splitlines()[0]}") from None
    finally:
        mlflow.set_tracking_uri(previous)


def terminate(
    aws: Aws, bucket: str, launch_id: str | None, purge: bool = False, wait: bool = True, echo=print
) -> list[str]:
    """End one launch (or every live instance of the project): instances, then their security groups
    and IAM role; with purge also the launch's S3 prefix. Returns what was removed."""
    if launch_id:
        require_launch(aws, bucket, launch_id)
    instances = project_instances(aws, launch_id)
    ids = [i["InstanceId"] for i in instances]
    removed = [f"instance {i}" for i in ids]
    terminate_instances(aws, ids)
    if ids and wait and not aws.dry_run:  # security groups can only go once their instances are gone
        aws.client("ec2").get_waiter("instance_terminated").wait(
            InstanceIds=ids, WaiterConfig={"Delay": 5, "MaxAttempts": 120}
        )
    for launch in sorted({launch_id} if launch_id else {launch_of(i) for i in instances}):
        removed += resources.delete_security_groups(aws, launch)
        removed += resources.delete_instance_profile(aws, launch)
        if purge:
            count = delete_prefix(aws, bucket, launch)
            removed.append(f"{count} objects under s3://{bucket}/{prefix(launch)}/")
    return removed
