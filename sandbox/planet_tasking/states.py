"""Order statuses, which of them allow an edit or a cancellation, and the simulated durations of the lifecycle."""

from __future__ import annotations

ORDER_STATUSES = ("RECEIVED", "PENDING", "REQUESTED", "IN_PROGRESS", "FINALIZING", "FULFILLED", "CANCELLED",
                  "PENDING_CANCELLATION", "REJECTED", "EXPIRED", "FAILED")
# "Tasking Orders can be deleted or cancelled only when the Tasking Order is in one of the following states:
# PENDING, IN_PROGRESS and RECEIVED." (planet-tasking-api.txt); bulk: "only ... PENDING and IN_PROGRESS"
# (planet-tasking-bulk.txt).
CANCELLABLE = frozenset({"RECEIVED", "PENDING", "IN_PROGRESS"})
BULK_CANCELLABLE = frozenset({"PENDING", "IN_PROGRESS"})
# The document's edit table (PENDING, IN_PROGRESS); facts.md fills in RECEIVED and REQUESTED for start_time.
START_EDITABLE = frozenset({"RECEIVED", "PENDING", "REQUESTED"})
END_EDITABLE = frozenset({"RECEIVED", "PENDING", "REQUESTED", "IN_PROGRESS"})
# Assured orders that hold a satellite pass: what a new window conflicts with and replaces.
ACTIVE = frozenset({"RECEIVED", "PENDING", "REQUESTED", "IN_PROGRESS"})
# Everything an order was created with except name, rank, start_time and end_time (facts.md).
FIXED_FIELDS = ("geometry", "order_type", "n_stereo_pov", "pl_number", "product", "scheduling_type",
                "imaging_window", "sat_elevation_angle_min", "sat_elevation_angle_max", "exclusivity_days", "rrule")
CAPTURE_STATUSES = ("QUEUED", "PROCESSING", "PUBLISHED", "FAILED")
CAPTURE_ITEM_TYPES = ["SkySatScene", "SkySatCollect"]

# Simulated durations (seconds): see README "Simulation model".
ACCEPT_DELAY = 60
ASSURED_CANCEL_DELAY = 300
QUEUE_LEAD = 45 * 60
ASSURED_START_LEAD = 6 * 3600
LOCK_IN_LEAD = 15 * 60  # an assured order accepted later than this before its window cannot be locked in
REASSESSMENT_CHANCE = 0.05
CAPTURE_FAILURE_CHANCE = 0.08
INVALID_CLOUD_COVER = 0.3
DAYLIGHT_SUN_ELEVATION = 15.0
SLEW_MARGIN = 30  # seconds a satellite needs to re-point between two targets
