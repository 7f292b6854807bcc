"""Opens the user guide shipped with the plugin (resources/help/index.html) in the user's browser."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QDesktopServices

GUIDE = Path(__file__).resolve().parent.parent.parent / "resources" / "help" / "index.html"
# The guide's sections (the anchors in index.html) a caller may open it at.
SECTIONS = ("start", "settings", "sandbox", "aoi", "quote", "flexible", "assured", "orders", "bulk", "bulk-edit",
            "up42", "imagery", "processing", "trouble")


def help_url(section: Optional[str] = None) -> QUrl:
    """The guide as a file URL, at `section` (one of SECTIONS) when given."""
    if section is not None and section not in SECTIONS:
        raise ValueError(f"the user guide has no section {section!r}")
    url = QUrl.fromLocalFile(str(GUIDE))
    if section:
        url.setFragment(section)
    return url


def open_help(section: Optional[str] = None) -> bool:
    """Open the guide in the default browser (at `section`); False when the system could not open it.

    A local file, not a web page: the guide matches the installed version and needs no network.
    """
    return bool(QDesktopServices.openUrl(help_url(section)))
