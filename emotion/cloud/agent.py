"""Runs on the instance (started by the boot script): the launch's `mlflow run`, its log and status
streamed to S3 while it runs, and for a single training run its checkpoints, so a relaunch resumes.

S3, under launches/<id>/:  launch.json (what to run, written by `launch`), run.json (the MLflow run id
of a resumable launch), checkpoint/epoch-NNNN/... (latest epoch), logs/<instance>.log,
status/<instance>.json ({state, exit_code, run_id, updated}).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

from emotion.cloud.settings import prefix

SYNC_SECONDS = 15  # log and checkpoint upload interval (a spot notice gives two minutes)


class LaunchStore:
    """The launch's S3 prefix, seen from the instance (whose role may touch nothing else)."""

    def __init__(self, bucket: str, launch_id: str, region: str):
        self.client = boto3.client("s3", region_name=region)
        self.bucket, self.root = bucket, prefix(launch_id)

    def get_json(self, key: str) -> dict | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=f"{self.root}/{key}")["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def put_json(self, key: str, value: dict) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=f"{self.root}/{key}",
            Body=json.dumps(value, indent=1).encode(),
            ServerSideEncryption="AES256",
        )

    def put_file(self, key: str, path: Path) -> None:
        self.client.upload_file(
            str(path), self.bucket, f"{self.root}/{key}", ExtraArgs={"ServerSideEncryption": "AES256"}
        )

    def get_file(self, key: str, path: Path) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=f"{self.root}/{key}")
        except self.client.exceptions.ClientError:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        self.client.download_file(self.bucket, f"{self.root}/{key}", str(path))
        return True

    def keys(self, under: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{self.root}/{under}")
        return [o["Key"][len(self.root) + 1 :] for page in pages for o in page.get("Contents", [])]

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": f"{self.root}/{k}"} for k in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})


def sync_checkpoint_up(store: LaunchStore, local: Path, uploaded: set[str]) -> None:
    """Upload the newest complete epoch folder (state.json last: it marks the folder complete in S3)."""
    folders = sorted(p for p in local.glob("epoch-*") if (p / "state.json").exists())
    if not folders or folders[-1].name in uploaded:
        return
    newest = folders[-1]
    files = sorted(newest.iterdir(), key=lambda p: p.name == "state.json")
    try:
        for file in files:
            store.put_file(f"checkpoint/{newest.name}/{file.name}", file)
    except FileNotFoundError:
        return  # training replaced the folder meanwhile: the next round uploads the newer one
    uploaded.add(newest.name)
    stale = [k for k in store.keys("checkpoint/") if not k.startswith(f"checkpoint/{newest.name}/")]
    store.delete(stale)


def sync_checkpoint_down(store: LaunchStore, local: Path) -> str | None:
    """Fetch the newest complete epoch folder from S3 (a relaunch after a spot interruption)."""
    keys = store.keys("checkpoint/")
    complete = sorted({k.split("/")[1] for k in keys if k.endswith("/state.json")})
    if not complete:
        return None
    newest = complete[-1]
    for key in keys:
        if key.startswith(f"checkpoint/{newest}/"):
            store.get_file(key, local / newest / key.rsplit("/", 1)[1])
    return newest


def mlflow_run_command(spec: dict, run_id: str | None, checkpoint_dir: Path | None, data_dir: Path | None) -> list[str]:
    params = dict(spec.get("params", {}))
    extra = params.pop("extra", "")
    if data_dir is not None:
        params["data_dir"] = str(data_dir)
    if checkpoint_dir is not None:
        extra = f"{extra} checkpoint_dir={checkpoint_dir}".strip()
    if extra:
        params["extra"] = extra
    command = [sys.executable, "-m", "mlflow", "run", ".", "-e", spec["entry"], "--env-manager", "local"]
    for name, value in params.items():
        command += ["-P", f"{name}={value}"]
    if spec.get("experiment"):
        command += ["--experiment-name", spec["experiment"]]
    if run_id:
        command += ["--run-id", run_id]
    return command


def resumable_run_id(store: LaunchStore, spec: dict) -> str:
    """The launch's one MLflow run: created on the first boot, reused by every relaunch."""
    saved = store.get_json("run.json")
    if saved:
        return saved["run_id"]
    run_id = create_run(spec, f"{spec['entry']}-{spec['launch_id']}")
    store.put_json("run.json", {"run_id": run_id})
    return run_id


def create_run(spec: dict, name: str) -> str:
    """The run `mlflow run --run-id` fills, created here so its id is known (status, gpu, resume)."""
    import mlflow

    client = mlflow.MlflowClient()
    experiment_name = spec.get("experiment") or None
    experiment = client.get_experiment_by_name(experiment_name) if experiment_name else client.get_experiment("0")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    return client.create_run(experiment_id, run_name=name, tags={"emotion.launch_id": spec["launch_id"]}).info.run_id


def run(workdir: Path, log: Path, instance_id: str, store: LaunchStore) -> int:
    spec = store.get_json("launch.json")
    if spec is None:
        print("emotion cloud: launch.json missing from the launch's S3 prefix", flush=True)
        return 2
    os.environ["MLFLOW_TRACKING_URI"] = spec["tracking_uri"]
    data_dir = None
    if spec.get("has_data") and store.get_file("data.tar.gz", workdir / "data.tar.gz"):
        data_dir = workdir / "data"
        subprocess.run(["tar", "-xzf", str(workdir / "data.tar.gz"), "-C", str(_fresh(data_dir))], check=True)
    if spec.get("has_cache") and store.get_file("cache.tar.gz", workdir / "cache.tar.gz"):
        subprocess.run(["tar", "-xzf", str(workdir / "cache.tar.gz"), "-C", str(_fresh(workdir / "cache"))], check=True)
        os.environ["EMOTION_CACHE_DIR"] = str(workdir / "cache")

    checkpoint_dir = None
    if spec.get("resumable"):
        checkpoint_dir = workdir / "checkpoint"
        resumed_from = sync_checkpoint_down(store, checkpoint_dir)
        run_id = resumable_run_id(store, spec)
        print(
            f"emotion cloud: MLflow run {run_id}" + (f", resuming from {resumed_from}" if resumed_from else ""),
            flush=True,
        )
    else:  # a sweep worker (or cv, compare ...): its own parent run, named so `gpu` and `download` find it
        run_id = create_run(spec, f"{spec['entry']}-{spec['launch_id']}-{instance_id}")

    status = {
        "state": "running",
        "exit_code": None,
        "run_id": run_id,
        "instance_id": instance_id,
        "entry": spec["entry"],
    }
    stop = threading.Event()
    uploaded: set[str] = set()

    def sync() -> None:
        status["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        store.put_json(f"status/{instance_id}.json", status)
        if log.exists():
            store.put_file(f"logs/{instance_id}.log", log)
        if checkpoint_dir is not None:
            sync_checkpoint_up(store, checkpoint_dir, uploaded)

    def loop() -> None:
        while not stop.wait(SYNC_SECONDS):
            try:
                sync()
            except Exception as error:  # a network blip must not kill training; the next round retries
                print(f"emotion cloud: sync failed ({type(error).__name__}: {error}); retrying", flush=True)

    sync()
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    command = mlflow_run_command(spec, run_id, checkpoint_dir, data_dir)
    print("emotion cloud: " + " ".join(command), flush=True)
    code = subprocess.run(command).returncode
    stop.set()
    thread.join()
    status.update(state="succeeded" if code == 0 else "failed", exit_code=code)
    if code == 0 and checkpoint_dir is not None:  # finished: nothing left to resume
        store.delete(store.keys("checkpoint/"))
    print(f"emotion cloud: mlflow run ended with exit code {code}", flush=True)
    sync()
    return code


def _fresh(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["run"]:
        print("usage: python -m emotion.cloud.agent run   (on the instance, from the boot script)", file=sys.stderr)
        return 2
    env = os.environ
    store = LaunchStore(env["EMOTION_BUCKET"], env["EMOTION_LAUNCH_ID"], env["EMOTION_REGION"])
    return run(Path(env["EMOTION_WORKDIR"]), Path(env["EMOTION_LOG"]), env["EMOTION_INSTANCE_ID"], store)


if __name__ == "__main__":
    sys.exit(main())
