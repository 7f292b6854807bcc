"""Bulk dialogs: order from a layer, edit or cancel selected orders, the journal's jobs; they show and forward to core.app.bulk."""

from .common import add_result_layer, close_when_done, default_client_factory
from .edit_dialog import BulkEditDialog, selected_order_ids_from
from .jobs_panel import BulkJobsPanel
from .messages import announce_outcome, remove_button_messages
from .order_dialog import BulkOrderDialog
from .progress import BulkProgressPanel
from .resume import resume_unfinished_bulks

__all__ = ["BulkEditDialog", "BulkJobsPanel", "BulkOrderDialog", "BulkProgressPanel", "add_result_layer",
           "announce_outcome", "close_when_done", "default_client_factory", "remove_button_messages",
           "resume_unfinished_bulks", "selected_order_ids_from"]
