"""Children of the local platform that must not outlive it: the moto server, localstripe and the
API workers' forkserver each ask Linux for SIGTERM when the platform dies (``PR_SET_PDEATHSIG``), so
a SIGKILL of ``make dev`` leaves none of them behind. (PostgreSQL is the exception: it stops on its
own terms, and the next start finds and stops a stale one through its ``postmaster.pid``.)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """SIGTERM this process when its parent goes; exit now if ``parent`` is already gone (it died
    before the request was armed). Elsewhere than Linux: nothing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent is not None and os.getppid() != parent:
        raise SystemExit(1)
