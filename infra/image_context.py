"""The API image's build context, hashed without Docker.

``pulumi up`` builds and pushes the image; ``pulumi preview`` does not build it
(pulumi-docker-build's ``build_on_preview=False``), so a preview needs neither
Docker nor QEMU. A preview must still show that the image will change when its
inputs changed: the SHA-256 of the build context (the Dockerfile plus every file
``.dockerignore`` admits, by path and content) goes on the image as a label, so a
changed context is a changed input, shown as an update of the image and, through
its unknown digest, of the function.

``.dockerignore`` is read with Docker's rules as far as this repository uses
them: patterns are relative to the context root, ``*`` and ``?`` stay within a
path segment, ``**`` spans segments, a trailing ``/`` names a directory, ``!``
re-admits, the last matching pattern wins, and a pattern matching a directory
matches everything under it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

# The label that carries the hash (OCI annotation-style reverse-DNS key).
CONTEXT_LABEL = "dev.ecommerce-platform.build-context-sha256"


@cache
def _pattern(glob: str) -> re.Pattern[str]:
    parts: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            parts.append(".*")
            i += 2
        elif glob[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


def ignore_rules(text: str) -> list[tuple[bool, str]]:
    """``.dockerignore`` as (re-admit?, pattern) pairs, in order."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        admit = line.startswith("!")
        pattern = line[1:].strip() if admit else line
        pattern = pattern.strip("/").removeprefix("./")
        if pattern:
            rules.append((admit, pattern))
    return rules


def is_ignored(relative: str, rules: list[tuple[bool, str]]) -> bool:
    """Whether Docker leaves ``relative`` (a file path, ``/``-separated) out of the context."""
    segments = relative.split("/")
    candidates = ["/".join(segments[: n + 1]) for n in range(len(segments))]
    ignored = False
    for admit, pattern in rules:
        if any(_pattern(pattern).match(c) for c in candidates):
            ignored = not admit
    return ignored


def _may_readmit(directory: str, rules: list[tuple[bool, str]]) -> bool:
    """Whether a ``!`` rule could admit something under an ignored directory."""
    return any(
        admit and (pattern.startswith(directory + "/") or any(c in pattern for c in "*?[")) for admit, pattern in rules
    )


def context_files(root: Path, rules: list[tuple[bool, str]]) -> Iterator[Path]:
    """Every file of the context, sorted by path (ignored directories are not walked: .venv, .git)."""
    for current, dirs, files in os.walk(root):
        base = Path(current)
        kept = []
        for name in sorted(dirs):
            relative = (base / name).relative_to(root).as_posix()
            if not is_ignored(relative, rules) or _may_readmit(relative, rules):
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            path = base / name
            if not is_ignored(path.relative_to(root).as_posix(), rules):
                yield path


def context_sha256(root: Path, dockerfile: str) -> str:
    """SHA-256 over the Dockerfile and each file the context admits (path and bytes)."""
    ignore = root / ".dockerignore"
    rules = ignore_rules(ignore.read_text()) if ignore.is_file() else []
    digest = hashlib.sha256()
    for path in [root / dockerfile, *sorted(context_files(root, rules))]:
        data = path.read_bytes()
        name = path.relative_to(root).as_posix().encode()
        digest.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()
