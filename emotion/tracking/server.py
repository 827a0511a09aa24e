"""Team tracking server: `mlflow server` on PostgreSQL with S3 artifacts proxied by the server, so
clients need only MLFLOW_TRACKING_URI (no cloud keys); and a reachability check for clients.

    emotion tracking-server --backend-store-uri postgresql://mlflow@db:5432/mlflow \
        --artifacts-destination s3://team-bucket/mlflow --host 0.0.0.0 --allowed-hosts mlflow.team.lan

MLflow's tables get their own database (`mlflow`); Optuna's studies another (`optuna`): both create
tables through SQLAlchemy and must not share one schema (DESIGN.md).
"""

from __future__ import annotations

import http.client
import importlib.util
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from emotion.errors import EmotionError

BACKEND_STORE_ENV = "MLFLOW_BACKEND_STORE_URI"  # `mlflow server` reads --backend-store-uri from it: kept out of `ps`
DEFAULT_HOST = "127.0.0.1"  # loopback: MLflow's default --allowed-hosts accepts it; other hosts need --allowed-hosts
DEFAULT_PORT = 5000  # MLflow's own default
DEFAULT_WORKERS = 1  # MLflow defaults to 4 uvicorn workers: ~4x the start-up time and memory for a small team
HOST_REJECTED = "Invalid Host header"  # body of MLflow 3's 403 when the Host header is not in --allowed-hosts


def server_command(
    backend_store_uri: str,
    artifacts_destination: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = DEFAULT_WORKERS,
    allowed_hosts: str | None = None,
    backend_in_env: bool = False,
) -> list[str]:
    """The `mlflow server` command line. Artifacts are proxied (`--serve-artifacts`): runs get
    `mlflow-artifacts:/` locations, and only the server talks to S3 (its credentials come from the
    standard AWS chain; MLFLOW_S3_ENDPOINT_URL for an S3-compatible endpoint). `allowed_hosts`: the
    Host names clients use when the server is reached by name, not loopback (MLflow 3 answers others 403).
    backend_in_env: leave the store URI (and any password in it) out of the arguments, which every user of
    the machine can read with `ps`; the caller sets BACKEND_STORE_ENV instead."""
    store = [] if backend_in_env else ["--backend-store-uri", backend_store_uri]
    command = [
        "mlflow",
        "server",
        *store,
        "--artifacts-destination",
        artifacts_destination,
        "--serve-artifacts",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if allowed_hosts:
        command += ["--allowed-hosts", allowed_hosts]
    return command


def redact(url: str) -> str:
    """A database URL without its password: the tracking store printed here, a sweep's storage on its run."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a SQLAlchemy URL: log only the scheme
        return url.split("://", 1)[0] + "://..."


def printable_command(command: list[str], backend_store_uri: str) -> str:
    """What `emotion tracking-server` runs, as a shell line with the store's password masked."""
    return f"{BACKEND_STORE_ENV}={redact(backend_store_uri)} {' '.join(command)}"


def check_backend_driver(backend_store_uri: str) -> None:
    """A postgresql:// store needs a driver; SQLAlchemy 2.1 picks psycopg (3) for a bare postgresql://."""
    scheme = urlsplit(backend_store_uri).scheme
    driver = {"postgresql": "psycopg", "postgresql+psycopg": "psycopg", "postgresql+psycopg2": "psycopg2"}.get(scheme)
    if driver and importlib.util.find_spec(driver) is None:
        package = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary"}[driver]
        raise EmotionError(
            f"backend store {backend_store_uri}: the {driver} driver is not installed: pip install {package}"
        )


def _is_http(uri: str) -> bool:
    return urlsplit(uri).scheme in ("http", "https")


def _reason(error: Exception, timeout: float) -> str:
    """A few words, not a traceback: 'Connection refused', 'no answer within 5 s', 'HTTP 503'."""
    if isinstance(error, urllib.error.HTTPError):
        return f"GET /health answered HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, Exception) else OSError(str(error.reason))
    if isinstance(error, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s"
    if isinstance(error, socket.gaierror):
        return f"unknown host ({error.strerror or error})"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _get(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read(200).decode(errors="replace")
    except urllib.error.HTTPError as error:  # an answer all the same
        return error.code, error.read(200).decode(errors="replace")


def check_uri_shape(uri: str) -> None:
    """An http(s) tracking URI names a host (and a numeric port, if any), with no spaces: one line otherwise."""
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError as error:
        raise EmotionError(f"tracking URI {uri!r} is malformed: {error}; e.g. http://mlflow.team.lan:5000") from None
    if not parts.hostname or any(c.isspace() for c in uri):
        raise EmotionError(
            f"tracking URI {uri!r} is malformed: expected http(s)://host[:port][/path] without spaces, "
            "e.g. http://mlflow.team.lan:5000"
        )


def check_tracking_server(uri: str, timeout: float = 5.0) -> None:
    """For an http(s) tracking URI: the server answers /health, and accepts our Host header (MLflow 3
    exempts /health from that check, so an API path is tried too). Anything else (sqlite:, file:,
    databricks) is left alone. Raises EmotionError with one line naming the URI."""
    if not _is_http(uri):
        return
    check_uri_shape(uri)
    base = uri.rstrip("/")
    advice = "start it (docs/operations.md) or unset MLFLOW_TRACKING_URI"
    try:
        status, _ = _get(f"{base}/health", timeout)
        if status != 200:
            raise urllib.error.HTTPError(f"{base}/health", status, "", None, None)
        status, body = _get(f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default", timeout)
    # URLError, HTTPError, timeouts are OSErrors; a URL http.client refuses (InvalidURL) is neither
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise EmotionError(f"tracking server {uri} is not reachable: {_reason(error, timeout)}; {advice}") from None
    if status == 403 and body.startswith(HOST_REJECTED):
        host = urlsplit(uri).netloc
        raise EmotionError(
            f"tracking server {uri} rejects the host name {host} (HTTP 403); restart it with --allowed-hosts {host}"
        )


def wait_until_healthy(uri: str, timeout: float = 120.0, process=None) -> float:
    """Poll <uri>/health until it answers 200; returns the seconds waited. `process` (a Popen): stop
    waiting as soon as it has exited (a bad store URI or a missing driver ends the server at once)."""
    start = time.monotonic()
    reason = "no answer yet"
    while time.monotonic() - start < timeout:
        if process is not None and process.poll() is not None:
            raise EmotionError(f"tracking server {uri} exited with code {process.returncode} before answering /health")
        try:
            if _get(f"{uri.rstrip('/')}/health", timeout=2.0)[0] == 200:
                return time.monotonic() - start
        except (OSError, ValueError) as error:
            reason = _reason(error, 2.0)
        time.sleep(0.2)
    raise EmotionError(f"tracking server {uri} did not answer /health within {timeout:g} s: {reason}")
