"""What backfill's "already in the files" check costs: reading every session record a log folder holds.

Run from the repository root::

    .venv/bin/python bench/logged_keys.py [--records N] [--per-day D]

Writes N records as daily `.zip` archives of D lines each (our own format, via format_session_line)
into a temporary folder, then times `gaze.logs.importer.logged_keys` over it and reports lines/s and the
growth of the process's peak RSS (the set of 16-byte record keys backfill keeps while it runs).
A report, not a test: it prints the figures and exits 0.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gaze.logs import format_session_line
from gaze.logs.importer import logged_keys

T0 = 1_777_905_040_000  # 2026-05-04T14:30:40Z
DAY_MS = 86_400_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--per-day", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        days = max(1, args.records // args.per_day)
        for day in range(days):
            stamp = time.strftime("%Y-%m-%d", time.gmtime((T0 + day * DAY_MS) / 1000))
            name = f"modulegaze-sessions-{stamp}.log"
            lines = "".join(
                format_session_line(
                    T0 + day * DAY_MS + i * 1000,
                    f"user{i % 50}@example.com",
                    f"10.0.{i % 25}.{i % 200}",
                    f"cdn_module_{i % 40}",
                    60 + i % 900,
                )
                for i in range(args.per_day)
            )
            with zipfile.ZipFile(folder / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(name, lines)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        keys = logged_keys(folder)
        elapsed = time.perf_counter() - started
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(f"records:        {len(keys):,} in {days:,} daily archives")
    print(f"read and keyed: {elapsed:.2f} s ({len(keys) / elapsed:,.0f} lines/s)")
    print(f"peak RSS grew:  {grown / 1024:.0f} MiB ({grown * 1024 / max(len(keys), 1):.0f} bytes per record)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
