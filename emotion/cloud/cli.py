"""`emotion cloud ...` subcommands (registered by emotion.cli)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from emotion.cloud import prices
from emotion.cloud.settings import LaunchSettings

DEFAULTS = LaunchSettings()


def _aws(args, dry_run: bool = False):
    from emotion.cloud.aws import Aws

    aws = Aws(args.region, dry_run=dry_run)
    aws.check()
    return aws


def _bucket(args, aws) -> str:
    from emotion.cloud.resources import default_bucket

    return args.bucket or default_bucket(aws.account(), aws.region)


def _launch(args) -> int:
    from emotion.config import parse_assignments
    from emotion.cloud.launch import launch

    settings = LaunchSettings(
        entry=args.entry,
        params=parse_assignments(args.params),
        instance_type=args.instance_type,
        market=args.market,
        region=args.region,
        workers=args.workers,
        tracking_uri=args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", ""),
        experiment=args.experiment,
        ami=args.ami,
        ami_parameter=args.ami_parameter,
        bucket=args.bucket,
        max_hours=args.max_hours,
        volume_gb=args.volume_gb,
        data_dir=args.data_dir,
        cache_dir=args.cache_dir,
        allow_dirty=args.allow_dirty,
        launch_id=args.launch_id,
    )
    settings.validate()  # before any AWS call
    aws = _aws(args, dry_run=args.dry_run)
    result = launch(settings, Path.cwd(), aws)
    if args.dry_run:
        print(f"\n--- user data ({len(result.user_data)} characters) ---\n{result.user_data}")
        print("dry run: nothing was created")
        return 0
    print(f"launched {result.launch_id}: {', '.join(result.instance_ids)} (bucket {result.bucket})")
    print(f"follow:    emotion cloud logs {result.launch_id} --follow")
    print(f"end early: emotion cloud terminate {result.launch_id}")
    return 0


def _status(args) -> int:
    from emotion.cloud.manage import status

    aws = _aws(args)
    print(status(aws, _bucket(args, aws), args.launch_id))
    return 0


def _logs(args) -> int:
    from emotion.cloud.manage import logs

    aws = _aws(args)
    logs(aws, _bucket(args, aws), args.launch_id, follow=args.follow)
    return 0


def _gpu(args) -> int:
    from emotion.cloud.manage import gpu

    aws = _aws(args)
    print(gpu(aws, _bucket(args, aws), args.launch_id))
    return 0


def _download(args) -> int:
    from emotion.cloud.manage import download
    from emotion.errors import EmotionError

    uri = args.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        raise EmotionError("--tracking-uri: the MLflow server the launch logged to (or set MLFLOW_TRACKING_URI)")
    print(download(args.run_id, Path(args.dest), uri))
    return 0


def _terminate(args) -> int:
    from emotion.cloud.manage import terminate
    from emotion.errors import EmotionError

    if not args.launch_id and not args.all:
        raise EmotionError("terminate: name a launch id, or pass --all for every live instance of the project")
    aws = _aws(args, dry_run=args.dry_run)
    removed = terminate(aws, _bucket(args, aws), None if args.all else args.launch_id, purge=args.purge)
    print("\n".join(f"removed {what}" for what in removed) or "nothing to remove")
    return 0


def _cost(args) -> int:
    print(prices.table())
    if args.instance_type:
        print("\n" + prices.estimate(args.instance_type, args.workers, args.hours))
    return 0


def add_commands(commands) -> None:
    cloud = commands.add_parser("cloud", help="run entry points and sweeps on AWS EC2 (boto3)").add_subparsers(
        dest="cloud_command", required=True
    )

    def command(name: str, handler, help: str, region: bool = True) -> argparse.ArgumentParser:
        parser = cloud.add_parser(name, help=help)
        if region:
            parser.add_argument("--region", default=DEFAULTS.region)
            parser.add_argument("--bucket", default="", help="project bucket (default emotion-<account>-<region>)")
        parser.set_defaults(handler=handler)
        return parser

    launch = command("launch", _launch, "pack the code (and data), start instances that run `mlflow run . -e ENTRY`")
    launch.add_argument(
        "entry", nargs="?", default=DEFAULTS.entry, help="MLproject entry point (tune with --workers for a sweep)"
    )
    launch.add_argument("params", nargs="*", help="entry point parameters, name=value")
    launch.add_argument("--instance-type", default=DEFAULTS.instance_type)
    launch.add_argument("--market", default=DEFAULTS.market, choices=("on-demand", "spot"))
    launch.add_argument(
        "--workers", type=int, default=DEFAULTS.workers, help="instances (each a tune worker on the shared study)"
    )
    launch.add_argument(
        "--tracking-uri", default="", help="MLflow server the instances log to (default MLFLOW_TRACKING_URI)"
    )
    launch.add_argument("--experiment", default="")
    launch.add_argument("--ami", default="", help="a fixed AMI id instead of the SSM parameter")
    launch.add_argument("--ami-parameter", default=DEFAULTS.ami_parameter)
    launch.add_argument(
        "--max-hours", type=float, default=DEFAULTS.max_hours, help="lifetime: powered off and terminated after this"
    )
    launch.add_argument("--volume-gb", type=int, default=DEFAULTS.volume_gb)
    launch.add_argument(
        "--data-dir", default="", help="corpus folder to upload (default: built-in corpus on the instance)"
    )
    launch.add_argument("--cache-dir", default="", help="feature cache to upload")
    launch.add_argument("--allow-dirty", action="store_true", help="launch HEAD although the working tree has changes")
    launch.add_argument("--launch-id", default="", help="relaunch this launch (resumes its run from the S3 checkpoint)")
    launch.add_argument("--dry-run", action="store_true", help="print every AWS call and the user data; create nothing")
    status = command("status", _status, "instances and run states (one launch, or all live ones)")
    status.add_argument("launch_id", nargs="?")
    logs = command("logs", _logs, "print the launch's logs from S3")
    logs.add_argument("launch_id")
    logs.add_argument("--follow", action="store_true", help="keep printing until every run has ended")
    gpu = command("gpu", _gpu, "latest GPU and system utilisation (MLflow system metrics)")
    gpu.add_argument("launch_id")
    download = command("download", _download, "download a run's artifacts and model through MLflow", region=False)
    download.add_argument("run_id")
    download.add_argument("--dest", default="downloads")
    download.add_argument("--tracking-uri", default="")
    terminate = command("terminate", _terminate, "terminate a launch's instances, security group and IAM role")
    terminate.add_argument("launch_id", nargs="?")
    terminate.add_argument("--all", action="store_true", help="every live instance of the project")
    terminate.add_argument(
        "--purge", action="store_true", help="also delete the launch's S3 prefix (logs, checkpoints, code)"
    )
    terminate.add_argument("--dry-run", action="store_true")
    cost = command("cost", _cost, "hourly price table; with --instance-type, a launch's estimate", region=False)
    cost.add_argument("--instance-type", default="")
    cost.add_argument("--workers", type=int, default=1)
    cost.add_argument("--hours", type=float, default=DEFAULTS.max_hours)


if __name__ == "__main__":
    sys.exit("use: emotion cloud ...")
