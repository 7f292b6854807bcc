"""Bulk create / edit / cancel: accepted at once (202), processed in the background on simulated time."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any, Dict

from sandbox.accounts import Account
from sandbox.errors import ApiError, not_an_object
from sandbox.planet_tasking.cancellation import cancel_order
from sandbox.planet_tasking.orders import create_order, edit_order
from sandbox.planet_tasking.states import BULK_CANCELLABLE
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time, parse_time

MAX_PAYLOADS = 1000
OPERATIONS = ("CREATE", "EDIT", "CANCEL")
BULK_START_DELAY = 1.0  # simulated seconds from PENDING to RUNNING
PAYLOAD_SECONDS = 0.02  # simulated seconds per payload: 50 payloads per simulated second
PUBLIC_FIELDS = ("id", "start_time", "end_time", "operation_type", "payload_count", "status",
                 "processing_payload_count", "failed_payload_count", "successful_payload_count")


def _compact(errors: Dict[str, Any]) -> str:
    return json.dumps(errors, separators=(",", ":"))


def create_bulk(sim: Simulation, account: Account, body: Any, now: datetime) -> dict:
    if not isinstance(body, dict):
        raise not_an_object(body)
    errors: Dict[str, list] = {}
    bulk_id = body.get("id")
    if bulk_id is not None:
        try:
            bulk_id = str(uuid.UUID(str(bulk_id)))
        except ValueError:
            errors["id"] = ["Must be a valid UUID."]
        else:
            if sim.store.get("bulk", bulk_id) is not None:
                errors["id"] = ["bulk process with this id already exists."]
    operation = body.get("operation_type", "CREATE") or "CREATE"
    if operation not in OPERATIONS:
        errors["operation_type"] = [f'"{operation}" is not a valid choice.']
    payloads = body.get("order_payloads")
    if payloads is None:
        errors["order_payloads"] = ["This field is required."]
    elif not isinstance(payloads, list):
        errors["order_payloads"] = [f'Expected a list of items but got type "{type(payloads).__name__}".']
    elif not payloads:
        errors["order_payloads"] = ["This list may not be empty."]
    elif len(payloads) > MAX_PAYLOADS:
        errors["order_payloads"] = [f"Ensure this field has no more than {MAX_PAYLOADS} elements."]
    if errors:
        raise ApiError(400, errors)
    bulk_id = bulk_id or sim.new_id()
    default_start = format_time(now)[:19] + "Z"
    default_end = format_time(now + timedelta(days=30))[:19] + "Z"
    entries = []
    for payload in payloads:
        if operation == "CREATE" and isinstance(payload, dict):
            # The service stores each create payload with its defaults filled in (see the documented example).
            payload = {"altitude": 0, "start_time": default_start, "end_time": default_end, **payload}
        entries.append({"id": sim.new_id(), "payload": payload})
    bulk = {
        "id": bulk_id,
        "start_time": None,
        "end_time": None,
        "operation_type": operation,
        "payload_count": len(entries),
        "status": "PENDING",
        "processing_payload_count": len(entries),
        "failed_payload_count": 0,
        "successful_payload_count": 0,
        "created_time": format_time(now),
        "_key": account.api_key,
        "_payloads": entries,
        "_done": 0,
    }
    sim.store.add("bulk", bulk)
    sim.schedule("bulk", bulk, now + timedelta(seconds=BULK_START_DELAY), "run")
    return bulk


def _process_payload(sim: Simulation, account: Account, bulk: dict, entry: dict, at: datetime) -> None:
    payload = entry["payload"]
    operation = bulk["operation_type"]
    try:
        if operation == "CREATE":
            order = create_order(sim, account, payload, at)
            entry["order_id"] = order["id"]
        else:
            if not isinstance(payload, dict):
                raise not_an_object(payload)
            order_id = payload.get("id")
            if order_id is None:
                raise ApiError(400, {"id": ["This field is required."]})
            if sim.store.get("order", str(order_id)) is None or \
                    sim.store.get("order", str(order_id)).get("_key") != account.api_key:
                raise ApiError(404, {"id": [f"Order {order_id} not found."]})
            if operation == "EDIT":
                changes = {k: v for k, v in payload.items() if k != "id"}
                edit_order(sim, account, str(order_id), changes, at)
            else:
                cancel_order(sim, account, str(order_id), at,
                             accept_charge=payload.get("accept_cancellation_charge") is True, allowed=BULK_CANCELLABLE)
            entry["order_id"] = str(order_id)
    except ApiError as error:
        entry["error"] = _compact(error.body)
        bulk["failed_payload_count"] += 1
    else:
        bulk["successful_payload_count"] += 1
    bulk["processing_payload_count"] -= 1


def bulk_event(sim: Simulation, bulk: dict, event: str, at: datetime, target: datetime) -> None:
    """Process the payloads due by `target` (50 per simulated second), each at its own due time."""
    account = sim.account(bulk["_key"])
    if bulk["status"] == "PENDING":
        bulk["status"] = "RUNNING"
        bulk["start_time"] = format_time(at)
    started = parse_time(bulk["start_time"])
    entries = bulk["_payloads"]
    while bulk["_done"] < len(entries):
        due = started + timedelta(seconds=PAYLOAD_SECONDS * (bulk["_done"] + 1))
        if due > target:
            break
        if account is None:
            entries[bulk["_done"]]["error"] = _compact({"detail": "The API key of this bulk is no longer configured."})
            bulk["failed_payload_count"] += 1
            bulk["processing_payload_count"] -= 1
        else:
            _process_payload(sim, account, bulk, entries[bulk["_done"]], due)
        bulk["_done"] += 1
    if bulk["_done"] >= len(entries):
        bulk["status"] = "COMPLETE"
        bulk["end_time"] = format_time(started + timedelta(seconds=PAYLOAD_SECONDS * len(entries)))
        sim.schedule("bulk", bulk, None)
    else:
        next_due = started + timedelta(seconds=PAYLOAD_SECONDS * (bulk["_done"] + 1))
        sim.schedule("bulk", bulk, next_due, "run")
    sim.store.touch("bulk", bulk)


def render_bulk(bulk: dict) -> dict:
    return {field: bulk[field] for field in PUBLIC_FIELDS}


def payload_documents(bulk: dict) -> list:
    documents = []
    for index, entry in enumerate(bulk["_payloads"]):
        document = {"id": entry["id"], "bulk_process": f"BulkProcess object ({bulk['id']})"}
        if "order_id" in entry:
            document["order_id"] = entry["order_id"]
        document["payload"] = entry["payload"]
        if "error" in entry:
            document["error"] = entry["error"]
        document["_seq"] = index
        documents.append(document)
    return documents

