"""The long-running processes' memory: glibc's allocator settings and the client libraries left unloaded.

The dashboard and `follow` share a Raspberry Pi's memory with oc4d and its PostgreSQL, so they
keep their resident size small (issue 9, `bench/live.py` part (b)). Two things, each measured there:

- glibc gives each thread that allocates its own malloc arena, and after a large block is freed it
  raises its mmap threshold, so later large blocks (a scrypt check takes 16 MiB) come from the arena
  and stay resident. Two arenas and a fixed mmap threshold (both `mallopt`, before any thread
  starts) cut 10 dashboards' RSS by about 35 MB.
- python-engineio, under NiceGUI's Socket.IO server, imports `requests` and `aiohttp` only to offer
  its client classes, which a server never uses (nor does NiceGUI or our code: the uplink speaks
  `http.client`). Marking both as absent before NiceGUI is imported keeps about 14 MB of modules out.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, now fixed: blocks above it go back to the system when freed
UNUSED_CLIENTS = ("requests", "aiohttp")


def tune_malloc() -> bool:
    """Fix glibc's arena count and mmap threshold; False where the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl, macOS: nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_ARENA_MAX, ARENAS)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    if not ok:
        log.warning("mallopt refused the memory settings; running with the C library's defaults")
    return ok


def skip_unused_clients() -> None:
    """Make `import requests` / `import aiohttp` fail in this process (only before NiceGUI loads).

    python-engineio imports them inside ``try: … except ImportError``, so it then runs as a server
    without its client classes. Does nothing to a library already imported."""
    for name in UNUSED_CLIENTS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None = "not importable" to the import system
