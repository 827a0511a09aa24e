"""Real services for the tracking-server tests: a throwaway PostgreSQL database, moto's standalone S3
server, and `mlflow server` on both. Missing service: a failure under CI (CI=true), a skip elsewhere."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"  # the machine's service, trust auth
PG_PASSWORD = "not-shown-4f2a"  # in the tracking server's store URI: trust auth ignores it; it must never be shown
# Dummy credentials for moto, given to the server process and the test's own boto3 client only.
AWS_TEST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def unavailable(reason: str):
    """A service the tests need is missing: CI must notice (fail), a laptop without it skips."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the service must be up, see .ci/run)")
    pytest.skip(reason)


def free_port() -> int:
    """A port nothing listens on right now (closed again before returning)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without MLflow or AWS settings (a client that has no cloud keys)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env.update(extra)
    return env


def wait_for_ping(server: subprocess.Popen, port: int, seconds: float = 180, path: str = "/ping") -> None:
    """Until a server on 127.0.0.1:port answers `path` (`mlflow models serve`: /ping, `mlflow ui`: /health);
    fails with the server's stderr if it exits."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert server.poll() is None, server.stderr.read().decode()[-3000:]
        assert time.time() < deadline, f"server did not answer {path} in {seconds:.0f} s"
        time.sleep(0.5)


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """One SIGTERM to the parent (mlflow server passes it on to its workers), then SIGKILL its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # started with start_new_session: the group is ours
            process.wait(10)


def log_tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@pytest.fixture(scope="session")
def postgres_db():
    """A fresh database (unique name) on the machine's PostgreSQL, dropped at the end of the session."""
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg not installed: pip install 'psycopg[binary]'")
    name = f"emotion_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True, connect_timeout=5
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: {str(error).strip().splitlines()[0]}")
    yield name
    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class S3Endpoint:
    url: str
    bucket: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=AWS_TEST_ENV["AWS_DEFAULT_REGION"],
            aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        )

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """moto's standalone server on a free loopback port, with one empty bucket."""
    executable = shutil.which("moto_server")
    if executable is None:
        unavailable("moto_server not on PATH: pip install 'moto[server]'")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as out:
        env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}  # AmazonSSMManagedInstanceCore, as on AWS
        process = subprocess.Popen(
            [executable, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on {url}:\n{log_tail(log)}")
                time.sleep(0.2)
        endpoint = S3Endpoint(url, f"emotion-test-{uuid.uuid4().hex[:8]}")
        endpoint.client().create_bucket(Bucket=endpoint.bucket)  # us-east-1: no CreateBucketConfiguration
        yield endpoint
    finally:
        stop(process)


@dataclass
class TrackingServer:
    uri: str
    s3: S3Endpoint
    prefix: str  # where in the bucket the server puts artifacts
    seconds_to_health: float
    log: Path
    store_uri: str  # with PG_PASSWORD in it
    pid: int


@pytest.fixture(scope="session")
def tracking_server(postgres_db, moto_s3, tmp_path_factory):
    """`emotion tracking-server` (which execs `mlflow server`): PostgreSQL store, S3 artifacts proxied.
    Only the server's environment holds the S3 endpoint and keys."""
    from emotion.errors import EmotionError
    from emotion.tracking.server import wait_until_healthy

    port, prefix = free_port(), "mlflow"
    uri = f"http://127.0.0.1:{port}"
    workdir = tmp_path_factory.mktemp("tracking-server")  # cwd: a stray ./mlartifacts would land here, not in the repo
    log = workdir / "server.log"
    store_uri = f"postgresql://{PG_USER}:{PG_PASSWORD}@{PG_HOST}:{PG_PORT}/{postgres_db}"
    command = [
        sys.executable,
        "-m",
        "emotion.cli",
        "tracking-server",
        "--backend-store-uri",
        store_uri,
        "--artifacts-destination",
        f"s3://{moto_s3.bucket}/{prefix}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    # GenAI job execution (huey consumers) is not used here; off, it spares 2 CPUs a few processes.
    env = clean_env(MLFLOW_S3_ENDPOINT_URL=moto_s3.url, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", **AWS_TEST_ENV)
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        try:
            seconds = wait_until_healthy(uri, timeout=180, process=process)
        except EmotionError as error:
            pytest.fail(f"{error}\n{log_tail(log)}")
        yield TrackingServer(uri, moto_s3, prefix, seconds, log, store_uri, process.pid)
    finally:
        stop(process)
