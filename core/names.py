"""Names the user sees in more than one place: the plugin's title, task descriptions, layer names."""

from __future__ import annotations

from typing import Optional

PLUGIN_TITLE = "Satellite Tasking"
# The message bar's title and the QgsMessageLog tab.
MESSAGE_TITLE = PLUGIN_TITLE
# Every QgsTask the plugin starts is described "<TASK_PREFIX>: <what>", so unload can find and cancel them.
TASK_PREFIX = PLUGIN_TITLE

ORDERS_LAYER = "Tasking orders"
CAPTURES_LAYER = "Captures"
IMAGING_WINDOWS_LAYER = "Imaging windows"


def task_description(what: str) -> str:
    """The description of a plugin task: "Satellite Tasking: <what>"."""
    return f"{TASK_PREFIX}: {what}"


def units_text(units: Optional[str]) -> str:
    """Quota units as a reader says them, everywhere the plugin shows a price: SQKM -> "km² of quota"."""
    if not units:
        return "quota units"
    return "km² of quota" if units.upper() == "SQKM" else f"{units} (quota units)"
