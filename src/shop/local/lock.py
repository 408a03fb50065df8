"""One local platform per data directory: an ``fcntl`` lock on ``<data-dir>/platform.lock``.

The lock file holds the owner's PID and port. The kernel releases the lock when the owner exits,
however it exits (SIGKILL included), so a stale file never blocks the next start; a second
``make dev`` on the same data directory while the first one runs refuses to start and names it.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

LOCK_FILE = "platform.lock"


class DataDirBusyError(RuntimeError):
    """Another local platform holds the data directory (the message names its PID and port)."""


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, port: int) -> None:
        """Take the lock and record this process's PID and ``port``; DataDirBusyError if held."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise DataDirBusyError(
                f"{self.path.parent} is in use by another local platform "
                f"(PID {owner.get('pid', '?')}, port {owner.get('port', '?')}); stop it or pass another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "port": port}).encode() + b"\n", 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def _read_owner(fd: int) -> dict[str, object]:
    try:
        value = json.loads(os.pread(fd, 256, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
