"""`emotion cloud` against a local moto server: real boto3 calls over HTTP to 127.0.0.1.

What moto can show: the calls, their arguments and the resources they leave (tags, user data, instance
profile, metadata options, shutdown behaviour, security groups, IAM, S3 objects and encryption). What
it cannot: an instance booting and running the user data, so the boot script's body is run here, locally,
against the same moto S3 and a real `mlflow server`.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid

import boto3
import pytest

from emotion.cloud import agent, manage, package, userdata
from emotion.cloud.aws import Aws
from emotion.cloud.launch import launch
from emotion.cloud.settings import LAUNCH_TAG, PROJECT_TAG, CloudError, LaunchSettings, prefix, role_name
from conftest import ROOT
from services import AWS_TEST_ENV, moto_s3, postgres_db, tracking_server  # noqa: F401 (fixtures)

REGION = "us-east-1"
AMI_PARAMETER = "/emotion-test/dlami"  # moto cannot hold AWS's reserved /aws/service/... names


@pytest.fixture
def aws_env(moto_s3, monkeypatch, tmp_path):  # noqa: F811
    """boto3's standard chain pointed at moto: dummy keys and AWS_ENDPOINT_URL, no shared config files."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for key, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    return moto_s3.url


@pytest.fixture
def ami(aws_env):
    image = boto3.client("ec2", region_name=REGION).describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=AMI_PARAMETER, Value=image, Type="String", Overwrite=True
    )
    return image


def settings(**changes) -> LaunchSettings:
    base = dict(
        entry="cnn_pooling",
        params={"max_actors": "4", "epochs": "2"},
        tracking_uri="http://127.0.0.1:1",
        bucket=f"emotion-test-{uuid.uuid4().hex[:8]}",
        ami_parameter=AMI_PARAMETER,
        allow_dirty=True,
        max_hours=2,
    )
    return LaunchSettings(**{**base, **changes})


def instances_of(launch_id: str, live: bool = True) -> list[dict]:
    filters = [{"Name": f"tag:{LAUNCH_TAG}", "Values": [launch_id]}]
    if live:
        filters.append({"Name": "instance-state-name", "Values": ["pending", "running"]})
    reservations = boto3.client("ec2", region_name=REGION).describe_instances(Filters=filters)["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def footprint() -> dict:
    """Everything of the project in the account, to show that a refused launch created nothing."""
    ec2, iam, s3 = (boto3.client(s, region_name=REGION) for s in ("ec2", "iam", "s3"))
    filters = [{"Name": f"tag:{PROJECT_TAG}", "Values": ["emotion"]}]
    return {
        "instances": sum(len(r["Instances"]) for r in ec2.describe_instances(Filters=filters)["Reservations"]),
        "groups": len(ec2.describe_security_groups(Filters=filters)["SecurityGroups"]),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("emotion-")),
        "buckets": sorted(b["Name"] for b in s3.list_buckets()["Buckets"]),
    }


def test_launch_creates_tagged_locked_down_instances_and_uploads_the_launch(ami):
    wanted = settings(
        entry="tune", workers=2, params={"variant": "cnn_pooling", "storage": "postgresql://u:pw@db/optuna"}
    )
    launched = launch(wanted, ROOT, Aws(REGION), echo=lambda line: None)
    ec2, iam, s3 = (boto3.client(s, region_name=REGION) for s in ("ec2", "iam", "s3"))

    found = instances_of(launched.launch_id)
    assert sorted(i["InstanceId"] for i in found) == sorted(launched.instance_ids) and len(found) == 2
    for instance in found:
        tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
        assert tags[PROJECT_TAG] == "emotion" and tags[LAUNCH_TAG] == launched.launch_id
        assert instance["ImageId"] == ami and instance["InstanceType"] == "g4dn.xlarge"
        assert instance["MetadataOptions"]["HttpTokens"] == "required"  # IMDSv2 only
        assert "InstanceLifecycle" not in instance  # on demand
        if "IamInstanceProfile" in instance:  # moto associates it with the first instance of a multi-count request only
            assert instance["IamInstanceProfile"]["Arn"].endswith(f"instance-profile/{role_name(launched.launch_id)}")
        attribute = ec2.describe_instance_attribute(
            InstanceId=instance["InstanceId"], Attribute="instanceInitiatedShutdownBehavior"
        )
        assert attribute["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
        script = base64.b64decode(
            ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")["UserData"][
                "Value"
            ]
        ).decode()
        assert script == launched.user_data
        assert "shutdown -h +120" in script  # the 2-hour lifetime guard
        assert launched.launch_id in script and launched.bucket in script
        assert "pw@" not in script and "127.0.0.1" not in script  # secrets and addresses stay in the private S3 prefix
        groups = ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in instance["SecurityGroups"]])[
            "SecurityGroups"
        ]
        assert groups[0]["IpPermissions"] == []  # no inbound at all

    assert any("IamInstanceProfile" in i for i in found)
    policy = iam.get_role_policy(RoleName=role_name(launched.launch_id), PolicyName="launch-prefix-only")[
        "PolicyDocument"
    ]
    resources = [s["Resource"] for s in policy["Statement"]]
    assert f"arn:aws:s3:::{launched.bucket}/{prefix(launched.launch_id)}/*" in resources  # its own prefix, nothing else

    assert s3.get_public_access_block(Bucket=launched.bucket)["PublicAccessBlockConfiguration"]["BlockPublicPolicy"]
    rule = s3.get_bucket_encryption(Bucket=launched.bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    spec_key = f"{prefix(launched.launch_id)}/launch.json"
    assert s3.head_object(Bucket=launched.bucket, Key=spec_key)["ServerSideEncryption"] == "AES256"
    spec = json.loads(s3.get_object(Bucket=launched.bucket, Key=spec_key)["Body"].read())
    assert spec["entry"] == "tune" and spec["params"]["storage"].endswith("@db/optuna") and spec["workers"] == 2
    assert not spec["resumable"]  # a sweep recovers through Optuna's heartbeats, not checkpoints


def test_relaunch_reuses_the_launch_and_terminate_leaves_nothing_behind(ami):
    first = launch(settings(), ROOT, Aws(REGION), echo=lambda line: None)
    again = launch(
        settings(bucket=first.bucket, launch_id=first.launch_id, market="spot"),
        ROOT,
        Aws(REGION),
        echo=lambda line: None,
    )
    assert again.launch_id == first.launch_id and len(instances_of(first.launch_id)) == 2  # old + relaunched
    relaunched = [i for i in instances_of(first.launch_id) if i["InstanceId"] in again.instance_ids]
    assert relaunched[0]["InstanceLifecycle"] == "spot"  # the relaunch's own machine choice
    groups = boto3.client("ec2", region_name=REGION).describe_security_groups(
        Filters=[{"Name": f"tag:{LAUNCH_TAG}", "Values": [first.launch_id]}]
    )
    assert len(groups["SecurityGroups"]) == 1  # the relaunch reused the launch's group (and role)

    removed = manage.terminate(Aws(REGION), first.bucket, first.launch_id, purge=True)
    assert sum(r.startswith("instance i-") for r in removed) == 2
    assert instances_of(first.launch_id) == []
    assert all(i["State"]["Name"] == "terminated" for i in instances_of(first.launch_id, live=False))
    ec2, iam, s3 = (boto3.client(s, region_name=REGION) for s in ("ec2", "iam", "s3"))
    assert (
        ec2.describe_security_groups(Filters=[{"Name": f"tag:{LAUNCH_TAG}", "Values": [first.launch_id]}])[
            "SecurityGroups"
        ]
        == []
    )
    for call in (
        lambda: iam.get_role(RoleName=role_name(first.launch_id)),
        lambda: iam.get_instance_profile(InstanceProfileName=role_name(first.launch_id)),
    ):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            call()
    assert s3.list_objects_v2(Bucket=first.bucket, Prefix=prefix(first.launch_id)).get("KeyCount", 0) == 0


def test_a_launch_that_fails_half_way_removes_what_it_created(ami):
    class FailingAtInstances(Aws):
        def write(self, service, operation, **kwargs):
            if operation == "run_instances":
                raise CloudError("ec2.run_instances: InsufficientInstanceCapacity: injected")
            return super().write(service, operation, **kwargs)

    wanted = settings()
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=wanted.bucket)
    before = footprint()
    with pytest.raises(
        CloudError,
        match=r"failed while starting instances: .*InsufficientInstanceCapacity.*removed what it had created",
    ) as failure:
        launch(wanted, ROOT, FailingAtInstances(REGION), echo=lambda line: None)
    assert "security group" in str(failure.value) and "instance profile" in str(failure.value)
    assert footprint() == before
    assert boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=wanted.bucket).get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"instance_type": "g9z.enormous"}, "--instance-type g9z.enormous: not an EC2 instance type"),
        ({"region": "mars-1"}, "--region 'mars-1': not an EC2 region"),
        ({"ami_parameter": "/emotion-test/missing"}, "no such SSM parameter"),
        ({"launch_id": "20260101-000000-abcd"}, "--launch-id 20260101-000000-abcd: no such launch"),
        ({"workers": 3}, "entry must be 'tune'"),
        (
            {"workers": 3, "entry": "tune", "params": {"variant": "no_aug"}},
            "must share one study: pass storage=postgresql",
        ),
        ({"tracking_uri": "sqlite:///mlflow.db"}, "not reachable from EC2"),
    ],
)
def test_bad_input_is_one_line_before_anything_is_created(ami, changes, message):
    before = footprint()
    wanted = settings(**changes)
    with pytest.raises(CloudError, match=message) as failure:
        launch(wanted, ROOT, Aws(wanted.region), echo=lambda line: None)
    assert "\n" not in str(failure.value)
    assert footprint() == before


def test_missing_credentials_are_named(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CloudError, match="no AWS credentials"):
        Aws(REGION).check()


def test_a_bucket_of_another_account_is_refused(ami, moto_s3):  # noqa: F811
    other = boto3.client("s3", region_name=REGION)
    other.meta.events.register(
        "before-sign.s3.*", lambda request, **kw: request.headers.add_header("x-moto-account-id", "210987654321")
    )
    name = f"emotion-foreign-{uuid.uuid4().hex[:8]}"
    other.create_bucket(Bucket=name)
    before = footprint()
    with pytest.raises(CloudError, match=f"--bucket {name}: .*another AWS account"):
        launch(settings(bucket=name), ROOT, Aws(REGION), echo=lambda line: None)
    assert footprint() == before


def test_unknown_launch_ids_are_errors_for_every_command(aws_env):
    aws = Aws(REGION)
    bucket = f"emotion-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    for command in (
        lambda: manage.status(aws, bucket, "nope-123"),
        lambda: manage.logs(aws, bucket, "nope-123"),
        lambda: manage.terminate(aws, bucket, "nope-123"),
        lambda: manage.gpu(aws, bucket, "nope-123"),
    ):
        with pytest.raises(CloudError, match="launch nope-123: no such launch"):
            command()


def test_dry_run_prints_every_call_and_creates_nothing(ami):
    lines: list[str] = []
    before = footprint()
    result = launch(settings(), ROOT, Aws(REGION, dry_run=True, echo=lines.append), echo=lambda line: None)
    assert footprint() == before
    writes = [line for line in lines if line.startswith("[would]")]
    for operation in (
        "s3.create_bucket",
        "s3.upload_file",
        "s3.put_object",
        "iam.create_role",
        "iam.put_role_policy",
        "iam.create_instance_profile",
        "ec2.create_security_group",
        "ec2.run_instances",
    ):
        assert any(line.startswith(f"[would] {operation}(") for line in writes), operation
    run = next(line for line in writes if "run_instances" in line)
    assert "'HttpTokens': 'required'" in run and "InstanceInitiatedShutdownBehavior='terminate'" in run
    assert result.launch_id in run  # the user data, printed whole


def test_a_dirty_working_tree_is_refused(aws_env, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    (repo / "a.py").write_text("x = 1\n")
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "one"], check=True)
    (repo / "a.py").write_text("x = 2\n")
    from emotion.cloud.package import code_archive

    with pytest.raises(CloudError, match=r"uncommitted changes \(a.py\)"):
        code_archive(repo, tmp_path)
    archive, commit = code_archive(repo, tmp_path, allow_dirty=True)
    assert archive.stat().st_size > 0 and len(commit) == 40


def test_checkpoints_go_up_and_come_back_whole(aws_env, tmp_path):
    bucket = f"emotion-test-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    store = agent.LaunchStore(bucket, "ckpt-test", REGION)
    local = tmp_path / "up"
    for epoch, payload in ((1, b"first"), (2, b"second")):
        folder = local / f"epoch-{epoch:04d}"
        folder.mkdir(parents=True)
        (folder / "model.keras").write_bytes(payload * 1000)
        (folder / "state.json").write_text(json.dumps({"next_epoch": epoch}))
        agent.sync_checkpoint_up(store, local, set())
    assert sorted(store.keys("checkpoint/")) == [
        "checkpoint/epoch-0002/model.keras",
        "checkpoint/epoch-0002/state.json",
    ]
    assert agent.sync_checkpoint_down(store, tmp_path / "down") == "epoch-0002"
    assert (tmp_path / "down" / "epoch-0002" / "model.keras").read_bytes() == b"second" * 1000


@pytest.mark.slow
def test_the_boot_script_runs_a_real_mlflow_run_and_uploads_its_log(ami, tracking_server, cache_dir, tmp_path):  # noqa: F811
    """The user data's body, run here: fetch code from S3, `mlflow run` (2 epochs) against a real
    `mlflow server`, stream log and status to S3; then `status`, `logs` and `gpu` read what it wrote."""
    launched = launch(
        settings(tracking_uri=tracking_server.uri, experiment="cloud-test"), ROOT, Aws(REGION), echo=lambda line: None
    )
    instance_id = launched.instance_ids[0]
    exports, body = userdata.split(launched.user_data)
    env = {
        **os.environ,
        **exports,
        "EMOTION_WORKDIR": str(tmp_path / "instance"),
        "EMOTION_PYTHON": sys.executable,
        "EMOTION_INSTANCE_ID": instance_id,
        "EMOTION_SHUTDOWN": "true",
        "EMOTION_CACHE_DIR": str(cache_dir),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    env = {k: v for k, v in env.items() if not k.startswith("MLFLOW_")}  # the launch says where to log
    env["MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"] = "1"  # a 2-epoch run is shorter than the default 10 s sample
    finished = subprocess.run(["bash", "-c", body], env=env, timeout=600)
    log = (tmp_path / "instance" / "run.log").read_text()
    assert finished.returncode == 0, log[-3000:]

    aws = Aws(REGION)
    lines: list[str] = []
    manage.logs(aws, launched.bucket, launched.launch_id, write=lines.append)
    assert f"[{instance_id}] emotion cloud: mlflow run ended with exit code 0" in lines
    assert any("test UA" in line for line in lines)  # the training's own summary line reached S3
    shown = manage.status(aws, launched.bucket, launched.launch_id)
    run_id = json.loads(
        boto3.client("s3")
        .get_object(Bucket=launched.bucket, Key=f"{prefix(launched.launch_id)}/run.json")["Body"]
        .read()
    )["run_id"]
    assert instance_id in shown and "succeeded" in shown and run_id in shown

    import mlflow

    run = mlflow.MlflowClient(tracking_uri=tracking_server.uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["epochs_run"] == 2 and "test_ua" in run.data.metrics
    assert run.data.tags["emotion.launch_id"] == launched.launch_id
    assert "cpu_utilization_percentage" in manage.gpu(aws, launched.bucket, launched.launch_id)
    followed: list[str] = []
    manage.logs(aws, launched.bucket, launched.launch_id, follow=True, write=followed.append, poll_seconds=0.1)
    assert followed == lines  # --follow prints the same and returns once every run has ended
    fetched = manage.download(run_id, tmp_path / "downloaded", tracking_server.uri)
    assert (fetched / "model" / "MLmodel").exists() and (fetched / "history.json").exists()
    with pytest.raises(CloudError, match="already finished"):
        launch(settings(bucket=launched.bucket, launch_id=launched.launch_id), ROOT, aws, echo=lambda line: None)
    manage.terminate(aws, launched.bucket, launched.launch_id, purge=True)


def test_a_cache_folder_is_uploaded_without_claims_or_half_written_entries(tmp_path):
    """Another process filling the cache during a launch leaves .lock / .tmp files that are not data."""
    import tarfile

    cache = tmp_path / "cache" / "features" / "ab"
    cache.mkdir(parents=True)
    for name in ("abc.npy", ".abd.lock", ".abe.123.f00.tmp"):
        (cache / name).write_bytes(b"x")
    archive = package.folder_archive(tmp_path / "cache", tmp_path, "cache_dir")
    with tarfile.open(archive) as tar:
        files = sorted(m.name for m in tar.getmembers() if m.isfile())
    assert files == ["./features/ab/abc.npy"]
