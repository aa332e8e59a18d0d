"""The long-running processes' memory: glibc's allocator settings and the libraries left unloaded.

The dashboard and `follow` share a Raspberry Pi's memory with oc4d and its PostgreSQL, so they
keep their resident size small (issue 9, `bench/live.py` part (b)). Two things, each measured there:

- glibc gives each thread that allocates its own malloc arena, and after a large block is freed it
  raises its mmap threshold, so later large blocks (a scrypt check takes 16 MiB) come from the arena
  and stay resident. Two arenas and a fixed mmap threshold (both `mallopt`, before any thread
  starts) cut 10 dashboards' RSS by about 35 MB.
- Libraries imported by the web stack only to offer what a server of ours never uses, each behind
  a `try: import … except ImportError` in the importer, so marking them absent before NiceGUI is
  imported only keeps them out:
  - python-engineio, under NiceGUI's Socket.IO server, imports `requests` and `aiohttp` only for
    its client classes (nor does NiceGUI or our code use them: the uplink speaks `http.client`):
    about 14 MB;
  - FastAPI imports `pydantic.v1` (Pydantic's old API) for each route it creates, only to refuse a
    v1 model, which none of ours is (issue 21);
  - uvicorn imports `watchfiles` (and its Rust library) for `reload=True`, which we never run (it
    falls back to its plain stat reloader) (issue 21).
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
UNUSED_MODULES = ("requests", "aiohttp", "pydantic.v1", "watchfiles")


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


def skip_unused_modules() -> None:
    """Make importing any of `UNUSED_MODULES` fail in this process (only before NiceGUI loads).

    Each importer catches the ImportError: python-engineio then runs as a server without its client
    classes, FastAPI finds no v1 model, uvicorn has no watchfiles reloader. Does nothing to a library
    already imported."""
    for name in UNUSED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None = "not importable" to the import system
