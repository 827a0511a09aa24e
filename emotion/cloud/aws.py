"""One boto3 session for a command: the checks that come before anything is created, and every call.

Every AWS call goes through `read` or `write`, so `--dry-run` can print all of them: reads still run
(they validate the region, instance type, bucket and AMI), writes are printed with their arguments and
not made. Credentials come only from boto3's standard chain (environment, shared files, SSO, instance
profile); nothing here names a key, a key file or an endpoint (AWS_ENDPOINT_URL points boto3 elsewhere).
"""

from __future__ import annotations

import sys
from typing import Any

import boto3
import botocore.exceptions

from emotion.cloud.settings import CloudError


class Aws:
    def __init__(self, region: str, dry_run: bool = False, echo=None):
        self.region, self.dry_run = region, dry_run
        self.echo = echo or (lambda line: print(line, file=sys.stderr))
        self.session = boto3.Session(region_name=region)
        self._clients: dict[str, Any] = {}
        self._account: str | None = None

    def check(self) -> str:
        """Credentials and region, before anything else; returns the account id."""
        known = set()
        for partition in ("aws", "aws-cn", "aws-us-gov"):
            known.update(self.session.get_available_regions("ec2", partition_name=partition))
        if self.region not in known:
            raise CloudError(f"--region {self.region!r}: not an EC2 region (e.g. us-east-1, eu-west-1)")
        if self.session.get_credentials() is None:
            raise CloudError(
                "no AWS credentials: boto3's standard chain found none "
                "(AWS_PROFILE / AWS_ACCESS_KEY_ID, ~/.aws/credentials, SSO login or an instance profile)"  # noqa: E501  secrets-scan: ok (names the standard location)
            )
        return self.account()

    def account(self) -> str:
        if self._account is None:
            self._account = self.read("sts", "get_caller_identity")["Account"]
        return self._account

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def read(self, service: str, operation: str, **kwargs) -> dict:
        if self.dry_run:
            self.echo(f"[read]  {service}.{operation}({_args(kwargs)})")
        return self._call(service, operation, kwargs)

    def write(self, service: str, operation: str, **kwargs) -> dict | None:
        """Made for real, or only printed under --dry-run (then returns None)."""
        if self.dry_run:
            self.echo(f"[would] {service}.{operation}({_args(kwargs)})")
            return None
        return self._call(service, operation, kwargs)

    def _call(self, service: str, operation: str, kwargs: dict) -> dict:
        try:
            return getattr(self.client(service), operation)(**kwargs)
        except botocore.exceptions.NoCredentialsError as error:
            raise CloudError(f"{service}.{operation}: no AWS credentials ({error})") from None
        except botocore.exceptions.ClientError as error:
            raise AwsError(service, operation, error) from None
        except botocore.exceptions.BotoCoreError as error:  # endpoint unreachable, bad parameter shape ...
            raise CloudError(f"{service}.{operation}: {error}") from None


class AwsError(CloudError):
    """A ClientError as one line; `code` lets callers treat 'not found' as an answer."""

    def __init__(self, service: str, operation: str, error: botocore.exceptions.ClientError):
        self.code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        super().__init__(f"{service}.{operation}: {self.code}: {message}")


def _args(kwargs: dict) -> str:
    """Arguments as Python would read them; bytes bodies by size (user data is printed whole)."""
    return ", ".join(f"{k}=<{len(v)} bytes>" if isinstance(v, bytes) else f"{k}={v!r}" for k, v in kwargs.items())
