"""Every default of a cloud launch, in one place, and the names and tags that tie resources to a launch."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

from emotion.errors import EmotionError

PROJECT = "emotion"
PROJECT_TAG = "emotion:project"  # on every resource a launch creates
LAUNCH_TAG = "emotion:launch-id"
# The Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04, Python 3.12, CUDA): AWS's public SSM
# parameter always names the latest image. Overridable (--ami-parameter, or --ami for a fixed image).
DLAMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id"
MARKETS = ("on-demand", "spot")
LAUNCH_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,40}$")


class CloudError(EmotionError):
    """An AWS or launch problem a user can fix, as one line."""


def new_launch_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


@dataclass(frozen=True)
class LaunchSettings:
    entry: str = "no_aug"  # any MLproject entry point; `tune` with workers > 1 is a sweep over many machines
    params: dict[str, str] = field(default_factory=dict)  # -P name=value for the entry point
    instance_type: str = "g4dn.xlarge"  # 1x T4, what the source designs trained on
    market: str = "on-demand"  # "on-demand" | "spot" (a relaunch of the same launch id resumes)
    region: str = "us-east-1"
    workers: int = 1  # instances; each runs the entry point (for `tune`: one worker on the shared study)
    tracking_uri: str = (
        ""  # the team's MLflow server (http or https), which the instances must reach; "" = MLFLOW_TRACKING_URI
    )
    experiment: str = ""  # MLflow experiment name; "" = the server's default
    ami: str = ""  # a fixed image id instead of the SSM parameter
    ami_parameter: str = DLAMI_PARAMETER
    bucket: str = ""  # "" = emotion-<account>-<region>, created private and encrypted on first use
    max_hours: float = 12.0  # the instance powers off (and so terminates) after this, whatever happens
    volume_gb: int = 100  # root volume (the DLAMI needs about 75 GB)
    data_dir: str = ""  # a corpus folder to upload; "" = the built-in corpus, generated on the instance
    cache_dir: str = ""  # a feature cache to upload, so the instance skips feature extraction
    allow_dirty: bool = False  # package HEAD even though the working tree has uncommitted changes
    launch_id: str = ""  # "" = a new launch; an existing id relaunches it (spot interruption: resume)

    def validate(self) -> None:
        if self.market not in MARKETS:
            raise CloudError(f"--market {self.market!r}: expected one of {', '.join(MARKETS)}")
        if self.workers < 1:
            raise CloudError(f"--workers {self.workers}: must be at least 1")
        if self.workers > 1 and self.entry != "tune":
            raise CloudError(
                f"--workers {self.workers}: several workers share one Optuna study, so the entry must be 'tune', not {self.entry!r}"
            )
        storage = self.params.get("storage", "")
        if self.workers > 1 and not storage.startswith(("postgresql", "mysql")):
            raise CloudError(
                f"--workers {self.workers}: the workers must share one study: pass storage=postgresql://... "
                f"(not {storage or 'the default sqlite file'})"
            )
        if not 0 < self.max_hours <= 72:
            raise CloudError(f"--max-hours {self.max_hours:g}: must be in (0, 72]")
        if not self.tracking_uri.startswith(("http://", "https://")) and not self.launch_id:
            raise CloudError(
                f"--tracking-uri {self.tracking_uri or '(empty)'}: the instances log to an MLflow server they can reach, "
                "http(s)://...; a local sqlite or file store is not reachable from EC2"
            )
        if self.launch_id and not LAUNCH_ID_PATTERN.match(self.launch_id):
            raise CloudError(f"--launch-id {self.launch_id!r}: lower-case letters, digits and '-', 3-41 characters")

    def resumable(self) -> bool:
        """One training run: it checkpoints to S3 each epoch and a relaunch resumes the same MLflow run."""
        from emotion.config import VARIANTS

        return self.workers == 1 and self.entry in VARIANTS


def role_name(launch_id: str) -> str:
    return f"{PROJECT}-{launch_id}"  # role, instance profile and security group share it


def prefix(launch_id: str) -> str:
    return f"launches/{launch_id}"


def tags(launch_id: str) -> list[dict[str, str]]:
    return [{"Key": PROJECT_TAG, "Value": PROJECT}, {"Key": LAUNCH_TAG, "Value": launch_id}]
