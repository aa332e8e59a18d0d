"""The module catalog: which oc4d module a log slug is, by name, category and where it came from.

`Catalog` (catalog.py) merges two sources, read-only: oc4d's database (oc4d_db.py) and a scan of
the uploads folder (uploads.py); modulenames.py matches a log slug to a module (DESIGN §7).
"""

from gaze.catalog.catalog import Catalog
from gaze.catalog.modulenames import Module, SourceStatus

__all__ = ["Catalog", "Module", "SourceStatus"]
