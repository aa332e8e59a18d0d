"""Simulated oc4d traffic and the demo mode that feeds it to the app.

traffic.py: `Classroom`, a seeded classroom of devices making oc4d's log lines (lines.py: the
devices and the line each request makes; traffic_data.py: the modules, users and noise they draw
from). demo.py: the demo mode (MODULEGAZE_DEMO), its own folder and the probe of oc4d's log.
"""

from gaze.simulator.demo import (
    DEMO_DETAIL,
    DEMO_FOLDER,
    log_demo,
    probe_journal,
    run_demo,
    settle_demo,
)
from gaze.simulator.lines import DEFAULT_START_MS, Line
from gaze.simulator.traffic import Classroom
from gaze.simulator.traffic_data import DEMO_CATALOG, CatalogEntry

__all__ = [
    "DEFAULT_START_MS",
    "DEMO_CATALOG",
    "DEMO_DETAIL",
    "DEMO_FOLDER",
    "CatalogEntry",
    "Classroom",
    "Line",
    "log_demo",
    "probe_journal",
    "run_demo",
    "settle_demo",
]
