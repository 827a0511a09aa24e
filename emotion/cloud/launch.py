"""`emotion cloud launch`: validate everything, upload the launch, start its instances; undo on failure.

Order: every check that needs no change (credentials, region, instance type, AMI, bucket ownership,
the code's git state) runs before the first resource is created. Then bucket (if new), uploads, IAM
role + instance profile, security group, instances. If a step fails, what this launch created is
removed again (in reverse) and the error names the step. Relaunching an existing launch id reuses its
uploads, role and group, and starts fresh instances that resume its MLflow run from the S3 checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from pathlib import Path

from emotion.cloud import package, prices, resources, userdata
from emotion.cloud.aws import Aws, AwsError
from emotion.cloud.settings import PROJECT, CloudError, LaunchSettings, new_launch_id, prefix, role_name, tags


@dataclasses.dataclass
class Launched:
    launch_id: str
    bucket: str
    instance_ids: list[str]
    user_data: str
    estimate: str


def check_instance_type(aws: Aws, instance_type: str) -> None:
    try:
        aws.read("ec2", "describe_instance_types", InstanceTypes=[instance_type])
    except AwsError as error:
        if error.code in ("InvalidInstanceType", "InvalidParameterValue"):
            known = ", ".join(prices.PRICES)
            raise CloudError(
                f"--instance-type {instance_type}: not an EC2 instance type in {aws.region} (priced here: {known})"
            ) from None
        raise


def resolve_ami(aws: Aws, settings: LaunchSettings) -> str:
    if settings.ami:
        return settings.ami
    try:
        return aws.read("ssm", "get_parameter", Name=settings.ami_parameter)["Parameter"]["Value"]
    except AwsError as error:
        if error.code == "ParameterNotFound":
            raise CloudError(
                f"--ami-parameter {settings.ami_parameter}: no such SSM parameter in {aws.region}; pass --ami ami-... instead"
            ) from None
        raise


def launch_exists(aws: Aws, bucket: str, launch_id: str) -> dict | None:
    try:
        body = aws.read("s3", "get_object", Bucket=bucket, Key=f"{prefix(launch_id)}/launch.json")["Body"].read()
    except AwsError as error:
        if error.code in ("NoSuchKey", "NoSuchBucket", "404", "AccessDenied"):
            return None
        raise
    return json.loads(body)


class Undo:
    """What this launch created so far, to remove in reverse if a later step fails."""

    def __init__(self):
        self.steps = []

    def add(self, what: str, action) -> None:
        self.steps.append((what, action))

    def run(self) -> list[str]:
        removed = []
        for what, action in reversed(self.steps):
            try:
                action()
                removed.append(what)
            except Exception as error:  # keep undoing the rest; report what could not be removed
                removed.append(f"{what} (NOT removed: {error})")
        return removed


@dataclasses.dataclass
class _Plan:
    """What every read-only check settled, before the first resource is created."""

    settings: LaunchSettings  # a relaunch's: what was launched, with this command's machine choices
    account: str
    ami: str
    bucket: str
    launch_id: str
    previous: dict | None  # the launch.json of the launch relaunched


@dataclasses.dataclass
class _Step:
    name: str = "preparing"  # what the launch was doing, for the error if it fails


def _checked_plan(settings: LaunchSettings, aws: Aws) -> _Plan:
    """Every check that needs no change: credentials, instance type, AMI, the launch relaunched."""
    account = aws.check()
    check_instance_type(aws, settings.instance_type)
    ami = resolve_ami(aws, settings)
    bucket = settings.bucket or resources.default_bucket(account, settings.region)
    relaunch = bool(settings.launch_id)
    launch_id = settings.launch_id or new_launch_id()
    previous = launch_exists(aws, bucket, launch_id) if relaunch else None
    if relaunch and previous is None:
        raise CloudError(
            f"--launch-id {launch_id}: no such launch in bucket {bucket} (see `emotion cloud status --all`)"
        )
    finished = previous and any(r.get("state") == "succeeded" for r in run_statuses(aws, bucket, launch_id).values())
    if finished and previous.get("resumable"):
        raise CloudError(
            f"--launch-id {launch_id}: its run already finished; start a new launch instead of relaunching it"
        )
    if previous:
        settings = dataclasses.replace(
            settings,
            entry=previous["entry"],
            params=previous["params"],
            workers=previous["workers"],
            tracking_uri=previous["tracking_uri"],
            experiment=previous["experiment"],
        )
    return _Plan(settings, account, ami, bucket, launch_id, previous)


def _upload_launch(aws: Aws, plan: _Plan, repo: Path, tmp: Path, undo: "Undo", step: _Step, echo) -> None:
    """The code (and data, cache) archives and launch.json under the launch's prefix in the bucket."""
    settings, bucket, launch_id = plan.settings, plan.bucket, plan.launch_id
    step.name = "packing the code"
    code, commit = package.code_archive(package.repository_root(repo), tmp, settings.allow_dirty)
    uploads = {"code.tar.gz": code}
    if settings.data_dir:
        uploads["data.tar.gz"] = package.folder_archive(Path(settings.data_dir), tmp, "data_dir")
    if settings.cache_dir:
        uploads["cache.tar.gz"] = package.folder_archive(Path(settings.cache_dir), tmp, "cache_dir")
    step.name = f"preparing bucket {bucket}"
    if resources.ensure_bucket(aws, bucket, plan.account):
        echo(f"created bucket {bucket} (private, encrypted; kept for later launches)")
    step.name = "uploading the launch"
    spec = {
        "launch_id": launch_id,
        "entry": settings.entry,
        "params": settings.params,
        "workers": settings.workers,
        "tracking_uri": settings.tracking_uri,
        "experiment": settings.experiment,
        "commit": commit,
        "resumable": settings.resumable(),
        "has_data": "data.tar.gz" in uploads,
        "has_cache": "cache.tar.gz" in uploads,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for name, path in uploads.items():
        key = f"{prefix(launch_id)}/{name}"
        extra = {"ServerSideEncryption": "AES256"}
        aws.write("s3", "upload_file", Filename=str(path), Bucket=bucket, Key=key, ExtraArgs=extra)
    aws.write(
        "s3",
        "put_object",
        Bucket=bucket,
        Key=f"{prefix(launch_id)}/launch.json",
        Body=json.dumps(spec, indent=1).encode(),
        ServerSideEncryption="AES256",
        ContentType="application/json",
    )
    undo.add(f"s3://{bucket}/{prefix(launch_id)}/", lambda: delete_prefix(aws, bucket, launch_id))


def _instance_access(aws: Aws, plan: _Plan, undo: "Undo", step: _Step) -> list[str]:
    """The launch's IAM role + instance profile and security group (reused on a relaunch): group ids."""
    launch_id = plan.launch_id
    step.name = "creating the instance profile"
    if not _exists(aws, "iam", "get_instance_profile", InstanceProfileName=role_name(launch_id)):
        # registered first: a failure inside leaves a role without its profile, which undo removes too
        undo.add(
            f"role and instance profile {role_name(launch_id)}",
            lambda: resources.delete_instance_profile(aws, launch_id),
        )
        resources.create_instance_profile(aws, plan.bucket, launch_id)
    step.name = "creating the security group"
    groups = resources.launch_security_groups(aws, launch_id)
    if not groups:
        undo.add("security group", lambda: resources.delete_security_groups(aws, launch_id))
        created = resources.create_security_group(aws, launch_id)
        groups = [created] if created else ["sg-<new>"]
    return groups


def launch(settings: LaunchSettings, repo: Path, aws: Aws | None = None, echo=print) -> Launched:
    settings.validate()
    aws = aws or Aws(settings.region)
    plan = _checked_plan(settings, aws)
    settings, bucket, launch_id = plan.settings, plan.bucket, plan.launch_id
    estimate = prices.estimate(settings.instance_type, settings.workers, settings.max_hours)
    echo(f"launch {launch_id}: {settings.entry} on {estimate}")

    undo, step = Undo(), _Step()
    try:
        with tempfile.TemporaryDirectory(prefix="emotion-launch-") as tmp:
            if not plan.previous:  # a relaunch reuses its uploads
                _upload_launch(aws, plan, repo, Path(tmp), undo, step, echo)
            groups = _instance_access(aws, plan, undo, step)
            step.name = "starting instances"
            script = userdata.render(bucket, launch_id, settings.region, settings.max_hours)
            instance_ids = run_instances(aws, settings, launch_id, plan.ami, groups[0], script)
            undo.add(f"instances {', '.join(instance_ids)}", lambda: terminate_instances(aws, instance_ids))
    except Exception as error:
        removed = undo.run()
        detail = f"; removed what it had created: {', '.join(removed)}" if removed else "; nothing had been created"
        message = str(error) if isinstance(error, CloudError) else f"{type(error).__name__}: {error}"
        raise CloudError(f"launch {launch_id} failed while {step.name}: {message}{detail}") from None
    return Launched(launch_id, bucket, instance_ids, script, estimate)


def run_instances(aws: Aws, settings: LaunchSettings, launch_id: str, ami: str, group: str, script: str) -> list[str]:
    request = {
        "ImageId": ami,
        "InstanceType": settings.instance_type,
        "MinCount": settings.workers,
        "MaxCount": settings.workers,
        "UserData": script,
        "IamInstanceProfile": {"Name": role_name(launch_id)},
        "SecurityGroupIds": [group],
        "InstanceInitiatedShutdownBehavior": "terminate",  # power-off (end of run, lifetime guard) removes it
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
        },  # IMDSv2 only
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/sda1",
                "Ebs": {
                    "VolumeSize": settings.volume_gb,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "TagSpecifications": [
            {"ResourceType": kind, "Tags": tags(launch_id) + [{"Key": "Name", "Value": f"{PROJECT}-{launch_id}"}]}
            for kind in ("instance", "volume")
        ],
    }
    if settings.market == "spot":
        request["InstanceMarketOptions"] = {
            "MarketType": "spot",
            "SpotOptions": {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"},
        }
    for attempt in range(8):  # a new instance profile takes a few seconds to become usable by EC2
        try:
            response = aws.write("ec2", "run_instances", **request)
            break
        except AwsError as error:
            if "iamInstanceProfile" not in str(error) and "Instance Profile" not in str(error) or attempt == 7:
                raise
            time.sleep(5)
    if response is None:  # dry run
        return [f"i-<new-{n}>" for n in range(settings.workers)]
    return [i["InstanceId"] for i in response["Instances"]]


def terminate_instances(aws: Aws, instance_ids: list[str]) -> None:
    if instance_ids:
        aws.write("ec2", "terminate_instances", InstanceIds=instance_ids)


def list_keys(aws: Aws, bucket: str, under: str) -> list[str]:
    keys, token = [], {}
    while True:
        page = aws.read("s3", "list_objects_v2", Bucket=bucket, Prefix=under, **token)
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            return keys
        token = {"ContinuationToken": page["NextContinuationToken"]}


def delete_prefix(aws: Aws, bucket: str, launch_id: str) -> int:
    """Delete every S3 object of the launch; returns how many."""
    keys = list_keys(aws, bucket, f"{prefix(launch_id)}/")
    for start in range(0, len(keys), 1000):
        aws.write(
            "s3", "delete_objects", Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]}
        )
    return len(keys)


def _exists(aws: Aws, service: str, operation: str, **kwargs) -> bool:
    try:
        aws.read(service, operation, **kwargs)
        return True
    except AwsError as error:
        if error.code in ("NoSuchEntity", "NotFound"):
            return False
        raise


def run_statuses(aws: Aws, bucket: str, launch_id: str) -> dict[str, dict]:
    """Per instance: what its agent last wrote (state, exit code, MLflow run id)."""
    out = {}
    for key in list_keys(aws, bucket, f"{prefix(launch_id)}/status/"):
        body = aws.read("s3", "get_object", Bucket=bucket, Key=key)["Body"].read()
        out[key.rsplit("/", 1)[1].removesuffix(".json")] = json.loads(body)
    return out
