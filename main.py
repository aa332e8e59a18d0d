"""Module Gaze: the admin's live board of who is on which learning module (port 3002).

`python main.py` runs the dashboard; `python main.py backfill|follow …` are command-line tools
(see `python main.py --help`).
"""

from __future__ import annotations

import sys

from gaze.cli import dispatch

if __name__ in {"__main__", "__mp_main__"}:
    code = dispatch(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from app_setup import run_dashboard

    run_dashboard()
