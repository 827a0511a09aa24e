"""A corpus folder's files as users keep them: symlinked folders and files followed, loops detected.

Corpora often live on another disk with `Actor_XX` symlinked into a working folder. Every symlink is
followed; a folder reached again (a loop back to an ancestor, or a second link to a folder already
walked) and a link whose target is gone are left out with the reason, so nothing is walked twice and
nothing vanishes silently. A broken or looping link with a file's name (`clip.wav`) is listed like a
file: the clip is then skipped where it is read, with the decoder's reason, next to its partners.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field


@dataclass
class Walk:
    files: list[str] = field(default_factory=list)  # every non-hidden file, in sorted path order
    symlinked_folders: int = 0  # entered through a symlink
    symlinked_files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): loops, broken links, unreadable

    def links(self) -> str:
        """'24 symlinked folders, 3 symlinked files' (the parts that are not zero), or ''."""
        parts = [
            f"{n} symlinked {what}{'s' if n != 1 else ''}"
            for n, what in ((self.symlinked_folders, "folder"), (self.symlinked_files, "file"))
            if n
        ]
        return ", ".join(parts)


def walk_corpus(root: str) -> Walk:
    """Every non-hidden file under `root`, following symlinks; see the module docstring for what is left out."""
    out = Walk()
    first_walked = {os.path.realpath(root): root}  # real folder -> the path it was walked as
    stack = [(root, (os.path.realpath(root),))]  # (folder, real paths of it and its ancestors)
    while stack:
        folder, chain = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            out.skipped.append((folder, f"folder not readable ({error.strerror})"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            reason = _follow(entry, chain, first_walked, out, stack)
            if reason:
                out.skipped.append((entry.path, reason))
    out.files.sort()
    return out


def _follow(entry: os.DirEntry, chain: tuple, first_walked: dict, out: Walk, stack: list) -> str | None:
    """File it, queue it, or say why not."""
    try:
        is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow symlinks
        if entry.is_symlink():
            os.stat(entry.path)  # raises for a loop of links or a missing target
    except OSError as error:
        if entry.is_symlink() and os.path.splitext(entry.name)[1]:
            out.files.append(entry.path)  # a file's name (clip.wav): its clip is reported where it is read, as before
            return None
        if error.errno == errno.ELOOP:
            return "symlink loop: the link resolves to itself"
        return (
            f"broken symlink: its target {os.readlink(entry.path)!r} does not exist"
            if entry.is_symlink()
            else error.strerror
        )
    if is_file:
        out.symlinked_files += entry.is_symlink()
        out.files.append(entry.path)
    elif is_dir:
        real = os.path.realpath(entry.path)
        if real in chain:
            return f"symlink loop: leads back to {first_walked[real]}"
        if real in first_walked:
            return f"same folder as {first_walked[real]}, already walked"
        out.symlinked_folders += entry.is_symlink()
        first_walked[real] = entry.path
        stack.append((entry.path, (*chain, real)))
    return None
