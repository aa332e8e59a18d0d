"""The benchmarks' days of oc4d traffic, as a centre would hand them to `main.py backfill`.

Two shapes, both seeded `gaze.simulator.traffic.Classroom` days:
- `default`: 25 devices, long visits (45 s to 20 min on a module): about a record per 80 entries;
- `dense`: 300 devices, short visits (8 to 40 s) and one learner in two hopping straight to another
  module: about a record per 9 entries — a centre whose learners hop between modules.

Each is written as a real `.journal` file (tests.journalkit: systemd-journal-remote), as the same
entries in `journalctl -o short-iso` text, and as their access hits in Combined Log Format for
GoAccess — all outside any timing.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gaze.simulator import Classroom, Line
from tests import journalkit

UNIT = "oc4d.service"
SHAPES: dict[str, Callable[[int], Classroom]] = {
    "default": lambda seed: Classroom(seed),
    "dense": lambda seed: Classroom(seed, devices=300, dwell_s=(8, 40), hop=0.5),
}
DESCRIPTIONS = {
    "default": "25 devices, long visits",
    "dense": "300 devices, short visits, hops between modules",
}
# an oc4d access line, classic or morgan form: address, user, time, request, status, size, referrer, agent
_ACCESS = re.compile(
    r'info: (?:::ffff:)?(\S+)(?: user=(\S+))? - \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3})'
    r'(?: (\S+) "([^"]*)" "([^"]*)")?'
)


@dataclass(frozen=True)
class Corpus:
    name: str
    lines: list[Line]
    journal: Path  # a real .journal file
    text: Path  # the same entries, journalctl -o short-iso
    clf: Path  # their access hits in Combined Log Format
    hits: int  # lines in `clf`


def make(name: str, entries: int, seed: int, folder: Path, journalctl: str) -> Corpus:
    lines = list(SHAPES[name](seed).day(entries))
    folder.mkdir(parents=True, exist_ok=True)
    journal = folder / f"{name}.journal"
    journalkit.write_journal(journal, journalkit.entries_from_lines(lines, unit=UNIT))
    text = folder / f"{name}.txt"
    with text.open("wb") as out:
        subprocess.run([journalctl, "--file", str(journal), "-o", "short-iso", "-q"], stdout=out, check=True)
    clf = folder / f"{name}.clf"
    hits = _to_clf(text, clf)
    return Corpus(name, lines, journal, text, clf, hits)


def _to_clf(text: Path, clf: Path) -> int:
    """The access lines of `text` in Combined Log Format; how many."""
    count = 0
    with text.open(encoding="utf-8", errors="replace") as src, clf.open("w", encoding="utf-8") as out:
        for line in src:
            m = _ACCESS.search(line)
            if m is None:
                continue
            ip, user, stamp, method, target, proto, status, size, referrer, agent = m.groups()
            when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%d/%b/%Y:%H:%M:%S %z")
            out.write(
                f'{ip} - {user or "-"} [{when}] "{method} {target} {proto}" {status} {size or "-"} '
                f'"{referrer or "-"}" "{agent or "-"}"\n'
            )
            count += 1
    return count
