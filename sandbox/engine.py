"""The emulated service's state and rules: orders, captures and their lifecycle on simulated time."""

from __future__ import annotations

import heapq
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from sandbox import geo
from sandbox.accounts import Account
from sandbox.clock import SimulatedClock
from sandbox.errors import BAD_DATETIME, ApiError, FieldErrors, detail, not_found
from sandbox.planet_tasking import orbits
from sandbox.planet_tasking.rrule import rrule_occurrences
from sandbox.planet_tasking.validation import as_integer, validate_order
from sandbox.store import Store
from sandbox.timefmt import format_time, from_epoch, parse_time

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
# A guard, not a limit met in practice: a rule bug must never hang the server inside one request.
MAX_EVENTS_PER_RUN = 2_000_000


def public(document: dict) -> dict:
    """The API view of a stored document: bookkeeping keys start with an underscore and stay inside."""
    return {k: v for k, v in document.items() if not k.startswith("_")}


class Sandbox:
    """All state behind one lock; every entry point runs the simulation up to "now" first."""

    def __init__(self, *, store: Store, accounts: List[Account], speed: float, seed: Optional[int],
                 start: Optional[datetime] = None):
        self.lock = threading.RLock()
        self.store = store
        self.accounts: Dict[str, Account] = {a.api_key: a for a in accounts}
        stored_seed = store.meta("seed")
        if seed is None:
            seed = int(stored_seed) if stored_seed is not None else random.SystemRandom().randrange(1 << 30)
        self.seed = seed
        store.set_meta("seed", str(seed))
        stored_now = parse_time(store.meta("clock_now") or "")
        # A stored clock wins: a restarted sandbox resumes where it stopped.
        start = stored_now or start or datetime.now(timezone.utc).replace(microsecond=0)
        self.clock = SimulatedClock(start, speed)
        self._id_counter = int(store.meta("id_counter") or 0)
        self._heap: List[Tuple[float, int, str, str, str]] = []
        self._heap_counter = 0
        for kind in ("order", "capture", "search", "bulk"):
            for obj in store.all(kind):
                if obj.get("_next"):
                    self._push(kind, obj)
        # Hooks for modules built on the engine (imaging windows, bulk): kind -> event handler.
        self.handlers = {"order": self._order_event, "capture": self._capture_event}

    # ---- infrastructure -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def new_id(self) -> str:
        self._id_counter += 1
        self.store.set_meta("id_counter", str(self._id_counter))
        generator = random.Random(f"id:{self.seed}:{self._id_counter}")
        return str(uuid.UUID(int=generator.getrandbits(128), version=4))

    def rng(self, *parts: Any) -> random.Random:
        return random.Random(":".join([str(self.seed)] + [str(p) for p in parts]))

    def account(self, api_key: str) -> Optional[Account]:
        return self.accounts.get(api_key)

    def schedule(self, kind: str, obj: dict, at: Optional[datetime], event: str = "") -> None:
        obj["_next"] = None if at is None else [at.timestamp(), event]
        self.store.touch(kind, obj)
        if at is not None:
            self._push(kind, obj)

    def _push(self, kind: str, obj: dict) -> None:
        self._heap_counter += 1
        at, event = obj["_next"]
        heapq.heappush(self._heap, (at, self._heap_counter, kind, obj["id"], event))

    def run_until(self, target: datetime) -> None:
        """Apply every due event in time order (events may schedule further events before target)."""
        limit = target.timestamp()
        budget = MAX_EVENTS_PER_RUN
        while self._heap and self._heap[0][0] <= limit and budget > 0:
            budget -= 1
            at, _, kind, object_id, event = heapq.heappop(self._heap)
            obj = self.store.get(kind, object_id)
            if obj is None or obj.get("_next") != [at, event]:
                continue  # superseded by a later reschedule
            obj["_next"] = None
            self.store.touch(kind, obj)
            self.handlers[kind](obj, event, from_epoch(at), target)
        self.store.set_meta("clock_now", format_time(target))

    def sync(self) -> datetime:
        """Bring the simulation to the present; the caller holds the lock."""
        moment = self.now()
        self.run_until(moment)
        return moment

    def reset(self) -> None:
        self.store.clear()
        self._heap.clear()
        self._id_counter = 0
        self.store.set_meta("id_counter", "0")
        self.clock.reset()
        self.store.set_meta("clock_now", format_time(self.clock.now()))
        self.store.commit()

    # ---- orders: validation -----------------------------------------------------------------------------

    # ---- orders: create, render, edit, cancel -----------------------------------------------------------

    def create_order(self, account: Account, payload: Any, now: datetime, *, window_lookup=None,
                     pricing=None) -> dict:
        values = validate_order(account, payload, now, window_lookup=window_lookup)
        window = values["_window"]
        created = format_time(now)
        order_id = self.new_id()
        end = values["end_time"]
        cancellable_until = parse_time(window["start_time"]) if window else end
        order = {
            "id": order_id,
            "geometry": values["geometry"],
            "original_geometry": values["original_geometry"],
            "order_type": values["order_type"],
            "sat_elevation_angle_min": values["sat_elevation_angle_min"],
            "sat_elevation_angle_max": values["sat_elevation_angle_max"],
            "start_time": format_time(values["start_time"]),
            "end_time": format_time(end),
            "n_stereo_pov": values["n_stereo_pov"],
            "is_cancellable": True,
            "cancellable_until": format_time(cancellable_until),
            "requested_sqkm": float(values["requested_sqkm"]),
            "created_time": created,
            "updated_time": created,
            "name": values["name"],
            "created_by": account.created_by,
            "status": "RECEIVED",
            "fulfilled_sqkm": 0.0,
            "capture_status_published_count": 0,
            "capture_assessment_success_count": 0,
            "capture_assessment_invalid_count": 0,
            "scheduling_type": values["scheduling_type"],
            "rrule": values["rrule"],
            "exclusivity_days": values["exclusivity_days"],
            "next_planned_acquisition_time": None,
            "last_acquired_time": None,
            "imaging_window": values["imaging_window"],
            "pl_number": values["pl_number"],
            "product": values["product"],
            "cancelled_time": None,
            "rank": values["rank"],
            "_key": account.api_key,
            "_captures": [],
            "_next_attempt": None,
            "_replaced_orders": [],
        }
        if window is not None:
            order["_window"] = {k: window.get(k) for k in (
                "off_nadir_angle_min", "off_nadir_angle_max", "sat_elevation_angle_min", "sat_elevation_angle_max",
                "assured_tasking_tier", "cloud_forecast", "start_time", "end_time")}
            order["_pass_key"] = window.get("pass_key")
            order["_tier_multiplier"] = float(window.get("tier_multiplier", 1.0))
        if pricing is not None:
            # Replacement happens before the order is stored so the new order does not conflict with itself.
            order["_pricing"] = pricing(account, order, now)
        self.store.add("order", order)
        self.schedule("order", order, now + timedelta(seconds=ACCEPT_DELAY), "accept")
        return order

    def render_order(self, order: dict, now: datetime) -> dict:
        document = public(order)
        until = order.get("cancellable_until")
        # Both texts share one fixed UTC format, so comparing them compares the times (and is cheap in lists).
        document["is_cancellable"] = order["status"] in CANCELLABLE and (until is None or format_time(now) < until)
        return document

    def owned(self, kind: str, account: Account, object_id: str) -> dict:
        obj = self.store.get(kind, object_id)
        if obj is None or obj.get("_key") != account.api_key:
            raise not_found()
        return obj

    def edit_order(self, account: Account, order_id: str, payload: Any, now: datetime) -> dict:
        order = self.owned("order", account, order_id)
        if not isinstance(payload, dict):
            raise ApiError(400, {"non_field_errors": [
                f"Invalid data. Expected a dictionary, but got {type(payload).__name__}."]})
        status = order["status"]
        errors = FieldErrors()
        for field in FIXED_FIELDS:
            if field in payload and payload[field] != order.get(field):
                errors.add(field, "This field cannot be edited; only name, rank, start_time and end_time can.")
        if status not in END_EDITABLE:
            raise ApiError(400, {"detail": f"Orders in status {status} cannot be edited."})
        changes: Dict[str, Any] = {}
        if "name" in payload:
            name = payload["name"]
            if not isinstance(name, str) or not name.strip():
                errors.add("name", "This field may not be blank.")
            elif len(name) > 255:
                errors.add("name", "Ensure this field has no more than 255 characters.")
            else:
                changes["name"] = name
        if "rank" in payload:
            rank = as_integer(payload["rank"])
            if rank is None:
                errors.add("rank", "A valid integer is required.")
            else:
                changes["rank"] = rank
        start = parse_time(order["start_time"])
        end = parse_time(order["end_time"])
        for field in ("start_time", "end_time"):
            if field not in payload:
                continue
            moment = parse_time(payload[field])
            if moment is None:
                errors.add(field, BAD_DATETIME)
                continue
            if order["scheduling_type"] == "ASSURED":
                errors.add(field, "The time of interest of an assured order is fixed by its imaging window.")
            elif field == "start_time" and status not in START_EDITABLE:
                errors.add(field, f"start_time cannot be edited while the order is {status}.")
            elif field == "start_time":
                start = moment
                changes[field] = moment
            else:
                end = moment
                changes[field] = moment
        if not errors.has("end_time") and not errors.has("start_time") and (
                "start_time" in changes or "end_time" in changes):
            if end <= start:
                errors.add("end_time", "End time must be after start time.")
            elif "end_time" in changes and end <= now:
                errors.add("end_time", "End time must be in the future.")
        errors.raise_if_any()
        for field, value in changes.items():
            if field in ("start_time", "end_time"):
                order[field] = format_time(value)
            else:
                order[field] = value
        if "end_time" in changes:
            order["cancellable_until"] = order["end_time"]
        order["updated_time"] = format_time(now)
        self.store.touch("order", order)
        if "start_time" in changes or "end_time" in changes:
            if status == "IN_PROGRESS" and order["scheduling_type"] == "FLEXIBLE" and order.get("_next_attempt") is None:
                # A longer order may now have room for the attempt its old end_time ruled out.
                self._plan_retask(order, now)
            self._replan_order(order, now)
        answer = {"start_time": order["start_time"], "end_time": order["end_time"]}
        for field in ("name", "rank"):
            if field in payload:
                answer[field] = order[field]
        return answer

    def cancellations_today(self, account: Account, pl_number: str, now: datetime) -> int:
        """The contract's assured cancellations of the UTC day, exactly as planet-tasking-api.txt's
        "Charged cancellation" recipe counts them, so a client following it sees the number charged by.

        The recipe lists status__in=CANCELLED,PENDING_CANCELLATION, updated_time__gt=<day>, the pl_number
        and scheduling_type=ASSURED, then keeps a CANCELLED order only if its cancelled_time is after
        midnight UTC; PENDING_CANCELLATION orders have no cancelled_time "but they still count". Orders
        cancelled by a replacement count too: the recipe cannot tell them apart (README).
        """
        midnight = format_time(now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0))
        used = 0
        for o in self.store.all("order"):
            if o.get("_key") != account.api_key or o.get("pl_number") != pl_number \
                    or o.get("scheduling_type") != "ASSURED" or not (o.get("updated_time") or "") > midnight:
                continue
            if o["status"] == "PENDING_CANCELLATION" or (
                    o["status"] == "CANCELLED" and (o.get("cancelled_time") or "") >= midnight):
                used += 1
        return used

    def cancel_order(self, account: Account, order_id: str, now: datetime, *, accept_charge: bool,
                     allowed: frozenset = CANCELLABLE) -> None:
        order = self.owned("order", account, order_id)
        status = order["status"]
        if status not in allowed:
            raise detail(400, f"Orders in status {status} cannot be cancelled.")
        until = parse_time(order["cancellable_until"]) if order.get("cancellable_until") else None
        if until is not None and now >= until:
            raise detail(400, f"This order can no longer be cancelled: it was cancellable until {order['cancellable_until']}.")
        if order["scheduling_type"] == "ASSURED":
            used = self.cancellations_today(account, order["pl_number"], now)
            if used >= account.free_cancellations:
                if not accept_charge:
                    raise detail(400, (
                        f"The free cancellation limit of contract {order['pl_number']} "
                        f"({account.free_cancellations} per day) has been reached, so this cancellation will be "
                        "charged. Repeat the request with accept_cancellation_charge=true to accept the charge."
                    ))
                order["_cancellation_charged"] = True
        self._begin_cancellation(order, now)

    def _begin_cancellation(self, order: dict, now: datetime, *, replaced_by: Optional[str] = None) -> None:
        order["_cancel_requested_at"] = format_time(now)
        order["updated_time"] = format_time(now)
        order["next_planned_acquisition_time"] = None
        order["_next_attempt"] = None
        if replaced_by:
            order["_replaced_by"] = replaced_by
        for capture_id in order["_captures"]:
            capture = self.store.get("capture", capture_id)
            if capture and capture["status"] == "QUEUED":
                self._fail_capture(capture, now, "The order was cancelled before acquisition.")
        if order["scheduling_type"] == "ASSURED":
            order["status"] = "PENDING_CANCELLATION"
            self.schedule("order", order, now + timedelta(seconds=ASSURED_CANCEL_DELAY), "cancelled")
        else:
            order["status"] = "CANCELLED"
            order["cancelled_time"] = format_time(now)
            self.schedule("order", order, None)

    # ---- captures -----------------------------------------------------------------------------------------

    def render_capture(self, capture: dict) -> dict:
        return public(capture)

    def _fail_capture(self, capture: dict, now: datetime, reason: str) -> None:
        capture["status"] = "FAILED"
        capture["status_description"] = reason
        capture["updated_time"] = format_time(now)
        self.schedule("capture", capture, None)

    def _footprint(self, order: dict, generator: random.Random) -> dict:
        # The footprint covers the ordered area with a small margin, shifted a little as real strips are.
        ring = order["geometry"]["coordinates"][0]
        lons = [p[0] for p in ring]
        lats = [p[1] for p in ring]
        margin_lon = (max(lons) - min(lons)) * 0.08 + 0.002
        margin_lat = (max(lats) - min(lats)) * 0.08 + 0.002
        shift_lon = generator.uniform(-0.5, 0.5) * margin_lon
        shift_lat = generator.uniform(-0.5, 0.5) * margin_lat
        west, east = min(lons) - margin_lon + shift_lon, max(lons) + margin_lon + shift_lon
        south, north = min(lats) - margin_lat + shift_lat, max(lats) + margin_lat + shift_lat
        corners = [[round(x, 6), round(y, 6)] for x, y in ((west, south), (east, south), (east, north),
                                                             (west, north), (west, south))]
        return {"type": "Polygon", "coordinates": [corners]}

    def _queue_capture(self, order: dict, now: datetime, acquisition: datetime) -> dict:
        attempt = len(order["_captures"]) + 1
        generator = self.rng(order["id"], "capture", attempt)
        capture = {
            "id": self.new_id(),
            "order_id": order["id"],
            "assessment": None,
            "created_time": format_time(now),
            "updated_time": format_time(now),
            "acquired_time": None,
            "published_time": None,
            "status": "QUEUED",
            "status_description": None,
            "strip_id": None,
            "cloud_cover": None,
            "item_types": list(CAPTURE_ITEM_TYPES),
            "geometry": self._footprint(order, generator),
            "fulfilling": False,
            "_key": order["_key"],
            "_planned": format_time(acquisition),
        }
        self.store.add("capture", capture)
        order["_captures"].append(capture["id"])
        order["next_planned_acquisition_time"] = format_time(acquisition)
        order["_next_attempt"] = None
        order["updated_time"] = format_time(now)
        self.store.touch("order", order)
        self.schedule("capture", capture, acquisition, "acquire")
        return capture

    def _capture_event(self, capture: dict, event: str, at: datetime, target: datetime) -> None:
        order = self.store.get("order", capture["order_id"])
        generator = self.rng(capture["id"], event)
        if event == "acquire":
            if generator.random() < CAPTURE_FAILURE_CHANCE / 2:
                self._fail_capture(capture, at, "The satellite could not acquire the area (scheduling conflict).")
                self._after_capture(order, capture, at)
                return
            longest = 40.0
            if order["scheduling_type"] == "ASSURED":
                longest = max(0.0, min(longest, (parse_time(order["end_time"]) - at).total_seconds()))
            acquired = at + timedelta(seconds=generator.uniform(0, longest))
            capture["acquired_time"] = format_time(acquired)
            capture["strip_id"] = "s{:03d}_{}".format(generator.randint(101, 124), acquired.strftime("%Y%m%dT%H%M%SZ"))
            capture["status"] = "PROCESSING"
            capture["updated_time"] = format_time(at)
            order["last_acquired_time"] = capture["acquired_time"]
            order["next_planned_acquisition_time"] = None
            order["updated_time"] = format_time(at)
            self.store.touch("order", order)
            self.schedule("capture", capture, at + timedelta(seconds=generator.uniform(1.5 * 3600, 4 * 3600)), "publish")
        elif event == "publish":
            if generator.random() < CAPTURE_FAILURE_CHANCE / 2:
                self._fail_capture(capture, at, "Processing of the capture failed.")
                self._after_capture(order, capture, at)
                return
            cloud = self._published_cloud_cover(order, generator)
            quality_ok = generator.random() > 0.1
            capture["cloud_cover"] = cloud
            capture["assessment"] = "SUCCESS" if cloud <= INVALID_CLOUD_COVER and quality_ok else "INVALID"
            capture["status"] = "PUBLISHED"
            capture["published_time"] = format_time(at)
            capture["updated_time"] = format_time(at)
            if generator.random() < REASSESSMENT_CHANCE:
                self.schedule("capture", capture, at + timedelta(seconds=generator.uniform(2 * 3600, 20 * 3600)),
                              "reassess")
            else:
                self.schedule("capture", capture, None)
            self._after_capture(order, capture, at)
        elif event == "reassess" and capture["status"] == "PUBLISHED":
            flipped = "INVALID" if capture["assessment"] == "SUCCESS" else "SUCCESS"
            self.reassess_capture(capture, flipped, at)

    @staticmethod
    def _published_cloud_cover(order: dict, generator: random.Random) -> float:
        """A published capture's cloud cover (0-1).

        An assured capture is taken in the window the user chose by its cloud forecast (percent), so it
        follows that forecast within a forecast's usual error; a flexible one is drawn, mostly clear.
        """
        forecasts = (order.get("_window") or {}).get("cloud_forecast") or []
        predictions = [f.get("prediction") for f in forecasts if isinstance(f, dict) and f.get("prediction") is not None]
        if predictions:
            return round(min(1.0, max(0.0, float(predictions[-1]) / 100.0 + generator.gauss(0.0, 0.1))), 2)
        return round(min(1.0, generator.random() ** 2.2), 2)

    def reassess_capture(self, capture: dict, assessment: str, now: datetime) -> None:
        """Manual quality review: the capture's assessment changes and its order follows (documented edge case)."""
        if capture["status"] != "PUBLISHED":
            raise detail(400, "Only PUBLISHED captures can be reassessed.")
        capture["assessment"] = assessment
        capture["updated_time"] = format_time(now)
        self.store.touch("capture", capture)
        order = self.store.get("order", capture["order_id"])
        if assessment == "INVALID" and capture.get("fulfilling"):
            capture["fulfilling"] = False
            if order["status"] == "FULFILLED":
                order["fulfilled_sqkm"] = 0.0
                if order["scheduling_type"] == "ASSURED":
                    order["status"] = "FAILED"
                elif now < parse_time(order["end_time"]):
                    order["status"] = "IN_PROGRESS"
                    self._plan_retask(order, now)
                else:
                    order["status"] = "EXPIRED"
        self._after_capture(order, capture, now)

    def _recount(self, order: dict) -> None:
        captures = [self.store.get("capture", cid) for cid in order["_captures"]]
        published = [c for c in captures if c and c["status"] == "PUBLISHED"]
        order["capture_status_published_count"] = len(published)
        order["capture_assessment_success_count"] = sum(1 for c in published if c["assessment"] == "SUCCESS")
        order["capture_assessment_invalid_count"] = sum(1 for c in published if c["assessment"] == "INVALID")

    def _after_capture(self, order: dict, capture: dict, now: datetime) -> None:
        """An order reacts to a capture that published, failed or was reassessed."""
        order["updated_time"] = format_time(now)
        status = order["status"]
        success = capture["status"] == "PUBLISHED" and capture["assessment"] == "SUCCESS"
        fulfilled_already = any(
            (self.store.get("capture", cid) or {}).get("fulfilling") for cid in order["_captures"])
        # A failed assured order is revived by a manual review accepting its only capture, as the document
        # says state changes run both ways.
        reopenable = ("IN_PROGRESS", "EXPIRED", "PENDING", "RECEIVED") + (
            ("FAILED",) if order["scheduling_type"] == "ASSURED" else ())
        if success and status in reopenable and not fulfilled_already:
            capture["fulfilling"] = True
            self.store.touch("capture", capture)
            if order["scheduling_type"] != "MONITORING" or status == "EXPIRED":
                order["status"] = "FULFILLED"
                order["fulfilled_sqkm"] = order["requested_sqkm"]
                order["next_planned_acquisition_time"] = None
                order["_next_attempt"] = None
                self.schedule("order", order, None)
            else:
                order["fulfilled_sqkm"] = order["requested_sqkm"]
        elif status == "IN_PROGRESS" and capture["status"] in ("PUBLISHED", "FAILED") and not success:
            if order["scheduling_type"] == "ASSURED":
                # One opportunity only: an assured order whose capture is unusable cannot be retasked.
                order["status"] = "FAILED"
                order["next_planned_acquisition_time"] = None
                self.schedule("order", order, None)
            elif order["scheduling_type"] == "FLEXIBLE":
                self._plan_retask(order, now)
        self._recount(order)
        self.store.touch("order", order)
        if order["status"] == "IN_PROGRESS":
            self._replan_order(order, now)

    # ---- order lifecycle ------------------------------------------------------------------------------------

    def _daylight(self, order: dict, moment: datetime) -> datetime:
        """The first moment from `moment` on with the Sun well up at the AOI: SkySat images in daylight."""
        lon, lat = geo.centroid(order["original_geometry"])
        probe = moment
        for _ in range(48):
            if orbits.sun_elevation(lon, lat, probe) >= DAYLIGHT_SUN_ELEVATION:
                return probe
            probe += timedelta(minutes=30)
        return moment  # polar night: no daylight within a day, keep the plan rather than never imaging

    def _plan_retask(self, order: dict, now: datetime) -> None:
        in_flight = any((self.store.get("capture", cid) or {}).get("status") in ("QUEUED", "PROCESSING")
                        for cid in order["_captures"])
        if in_flight:
            return
        generator = self.rng(order["id"], "retask", len(order["_captures"]))
        acquisition = self._daylight(order, now + timedelta(seconds=generator.uniform(6 * 3600, 36 * 3600)))
        if acquisition < parse_time(order["end_time"]):
            order["_next_attempt"] = acquisition.timestamp()
            order["next_planned_acquisition_time"] = format_time(acquisition)
        else:
            order["_next_attempt"] = None
            order["next_planned_acquisition_time"] = None

    def _plan_first_attempt(self, order: dict, now: datetime) -> None:
        start, end = parse_time(order["start_time"]), parse_time(order["end_time"])
        if order["scheduling_type"] == "ASSURED":
            acquisition = start
        elif order["scheduling_type"] == "MONITORING":
            occurrences = rrule_occurrences(order["rrule"], start, end)
            order["_occurrences"] = [o.timestamp() for o in occurrences if o >= now]
            acquisition = from_epoch(order["_occurrences"].pop(0)) if order["_occurrences"] else None
        else:
            generator = self.rng(order["id"], "first")
            span = max(1800.0, min(30 * 3600.0, 0.6 * (end - max(start, now)).total_seconds()))
            acquisition = self._daylight(order, max(start, now) + timedelta(seconds=generator.uniform(1800.0, span)))
        if acquisition is not None and acquisition < end + timedelta(seconds=1):
            order["_next_attempt"] = acquisition.timestamp()
            order["next_planned_acquisition_time"] = format_time(acquisition)

    def _replan_order(self, order: dict, now: datetime) -> None:
        status = order["status"]
        if status == "RECEIVED":
            at = parse_time(order["created_time"]) + timedelta(seconds=ACCEPT_DELAY)
            self.schedule("order", order, max(at, now), "accept")
        elif status in ("PENDING", "REQUESTED"):
            start = parse_time(order["start_time"])
            if order["scheduling_type"] == "ASSURED":
                start -= timedelta(seconds=ASSURED_START_LEAD)
            self.schedule("order", order, max(start, now), "start")
        elif status == "IN_PROGRESS":
            end = parse_time(order["end_time"])
            if end <= now:
                # Only an assured order still being captured stays IN_PROGRESS past its end: its capture decides.
                self.schedule("order", order, None)
                return
            if order.get("_next_attempt") is not None:
                queue_at = from_epoch(order["_next_attempt"]) - timedelta(seconds=QUEUE_LEAD)
                if queue_at < end:
                    self.schedule("order", order, max(queue_at, now), "attempt")
                    return
            self.schedule("order", order, max(end, now), "expire")
        elif status == "PENDING_CANCELLATION":
            requested = parse_time(order["_cancel_requested_at"])
            self.schedule("order", order, max(requested + timedelta(seconds=ASSURED_CANCEL_DELAY), now), "cancelled")
        else:
            self.schedule("order", order, None)

    def _order_event(self, order: dict, event: str, at: datetime, target: datetime) -> None:
        status = order["status"]
        if event == "accept" and status == "RECEIVED":
            order["updated_time"] = format_time(at)
            if order["scheduling_type"] == "ASSURED" and \
                    parse_time(order["start_time"]) - at < timedelta(seconds=LOCK_IN_LEAD):
                # Too late to put it in the satellite's plan: the lock-in fails and replaced orders stay.
                order["status"] = "REJECTED"
                order["next_planned_acquisition_time"] = None
            else:
                order["status"] = "PENDING"
                self._replace(order, at)
                if order["scheduling_type"] == "ASSURED":
                    order["next_planned_acquisition_time"] = order["start_time"]  # its window is its plan
        elif event == "start" and status in ("PENDING", "REQUESTED"):
            if at >= parse_time(order["end_time"]):
                order["status"] = "EXPIRED"
            else:
                order["status"] = "IN_PROGRESS"
                self._plan_first_attempt(order, at)
            order["updated_time"] = format_time(at)
        elif event == "attempt" and status == "IN_PROGRESS" and order.get("_next_attempt") is not None:
            self._queue_capture(order, at, from_epoch(order["_next_attempt"]))
        elif event == "expire" and status == "IN_PROGRESS":
            order["updated_time"] = format_time(at)
            order["next_planned_acquisition_time"] = None
            in_flight = any((self.store.get("capture", cid) or {}).get("status") in ("QUEUED", "PROCESSING")
                            for cid in order["_captures"])
            succeeded = any((self.store.get("capture", cid) or {}).get("fulfilling") for cid in order["_captures"])
            if order["scheduling_type"] == "MONITORING" and succeeded:
                order["status"] = "FULFILLED"
            elif order["scheduling_type"] == "ASSURED" and in_flight:
                pass  # an assured capture acquired in its window is still being processed: wait for it
            else:
                order["status"] = "EXPIRED"
        elif event == "cancelled" and status == "PENDING_CANCELLATION":
            order["status"] = "CANCELLED"
            order["cancelled_time"] = format_time(at)
            order["updated_time"] = format_time(at)
        self.store.touch("order", order)
        if order["status"] == "IN_PROGRESS" and order["scheduling_type"] == "MONITORING" \
                and order.get("_next_attempt") is None and order.get("_occurrences"):
            in_flight = any((self.store.get("capture", cid) or {}).get("status") in ("QUEUED", "PROCESSING")
                            for cid in order["_captures"])
            if not in_flight or event == "attempt":
                next_time = order["_occurrences"].pop(0)
                order["_next_attempt"] = next_time
                order["next_planned_acquisition_time"] = format_time(from_epoch(next_time))
        self._replan_order(order, at)

    # ---- replacement (assured) ----------------------------------------------------------------------------

    def conflicting_assured_orders(self, account: Account, window: dict, exclude: Optional[str] = None) -> List[dict]:
        """The key's active assured orders the satellite could not also serve if it took this window.

        Same pass, or the same satellite busy at overlapping times (with SLEW_MARGIN to re-point):
        a long window can therefore collide with several orders on nearby targets.
        """
        satellite = satellite_of(window["pass_key"])
        start = parse_time(window["start_time"]) - timedelta(seconds=SLEW_MARGIN)
        end = parse_time(window["end_time"]) + timedelta(seconds=SLEW_MARGIN)
        found = []
        for order in self.store.all("order"):
            if order.get("_key") != account.api_key or not order.get("_pass_key") or order["id"] == exclude:
                continue
            if order["status"] not in ACTIVE:
                continue
            if order["_pass_key"] == window["pass_key"] or (
                    satellite_of(order["_pass_key"]) == satellite
                    and parse_time(order["start_time"]) < end and parse_time(order["end_time"]) > start):
                found.append(order)
        return found

    def _replace(self, order: dict, now: datetime) -> None:
        """The new assured order is locked in: the orders its window replaces are cancelled, free of charge."""
        for replaced_id in order.get("_replaces") or []:
            replaced = self.store.get("order", replaced_id)
            if replaced and replaced["status"] in ACTIVE:
                self._begin_cancellation(replaced, now, replaced_by=order["id"])
                self.store.touch("order", replaced)


def satellite_of(pass_key: str) -> str:
    """The satellite part of orbits.py's pass key "<SATELLITE>:<closest approach>Z[#n]"."""
    return pass_key.split(":", 1)[0]
