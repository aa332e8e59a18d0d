"""The uplink: closed records shipped to the organisation's S3 bucket (DESIGN §8), offline first.

config.py: the settings checked together; outbox.py: the records waiting and the shipments formed
from them; shipper.py: `Uplink`, which sends them on the scheduler's tick; status.py: what the board
and /healthz say of it; store.py, sigv4.py and s3put.py: one signed PUT to the store; cli.py: the
`uplink` command.
"""

from gaze.uplink.config import UplinkConfig, uplink_config
from gaze.uplink.s3put import put_object
from gaze.uplink.shipper import FIRST_RUN_DELAY_S, Uplink
from gaze.uplink.status import ShipReport, UplinkStatus, ago, status_text
from gaze.uplink.store import Credentials, S3Error, Store

__all__ = [
    "FIRST_RUN_DELAY_S",
    "Credentials",
    "S3Error",
    "ShipReport",
    "Store",
    "Uplink",
    "UplinkConfig",
    "UplinkStatus",
    "ago",
    "put_object",
    "status_text",
    "uplink_config",
]
