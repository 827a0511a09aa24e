"""What a launch uploads: the code as committed (git archive of HEAD) and, if given, a data folder or a
feature cache, each one gzipped tarball written to a temporary folder."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from emotion.cloud.settings import CloudError


def repository_root(start: Path) -> Path:
    try:
        out = subprocess.run(
            ["git", "-C", str(start), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        raise CloudError(
            f"{start}: not inside a git repository; `emotion cloud launch` packs the committed code (git archive HEAD)"
        ) from None
    return Path(out.stdout.strip())


def code_archive(repo: Path, destination: Path, allow_dirty: bool = False) -> tuple[Path, str]:
    """HEAD as a .tar.gz; a working tree with uncommitted changes is refused unless allowed, because
    the instance would run code that differs from what the user is looking at. Returns (file, commit)."""
    status = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=True,
    )
    if status.stdout.strip() and not allow_dirty:
        changed = ", ".join(line[3:] for line in status.stdout.splitlines()[:5])
        raise CloudError(
            f"{repo}: uncommitted changes ({changed}); commit them, or pass --allow-dirty to launch HEAD without them"
        )
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    target = destination / "code.tar.gz"
    subprocess.run(["git", "-C", str(repo), "archive", "--format=tar.gz", "-o", str(target), "HEAD"], check=True)
    return target, commit


def folder_archive(folder: Path, destination: Path, name: str) -> Path:
    """A data folder or feature cache as <name>.tar.gz (symlinks are followed: the instance has no links' targets)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CloudError(f"--{name.replace('_', '-')} {folder}: not a folder")
    target = destination / f"{name}.tar.gz"
    with tarfile.open(target, "w:gz", dereference=True) as archive:
        archive.add(folder, arcname=".", filter=_without_work_files)
    return target


def _without_work_files(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """A feature cache's in-progress files (claims, half-written entries) are not data: leave them out."""
    return None if member.name.endswith((".lock", ".tmp")) else member
