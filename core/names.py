"""Names the user sees in more than one place: the plugin's title, task descriptions, layer names."""

from __future__ import annotations

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
