"""Synchronous entry points for callers without an event loop or dialog (Processing, qgis_process): the bulk
engine's steps, an archive order's run and orders placed one request each (UP42's) in the calling thread, and
a rerun of the same input resumes what the journal holds."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import rasters
from ..errors import Cancelled, ServiceError
from .bulk.job import BulkJob, BulkOutcome
from .bulk.journal import BulkJournal
from .bulk.layer_input import FieldMapping, ValidationReport
from .bulk.pricing import PricingReport
from .bulk.result_layer import job_source, journal_features

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]

# The key under which a job's source (in the journal) records the run it belongs to.
RUN_KEY = "headless_run"


def run_key(base_url: str, layer_source: str, mapping: FieldMapping, selected: Optional[Sequence[int]] = None) -> str:
    """Which run a CREATE job belongs to: the same service, layer, mapping and selection make the same key, so a
    rerun after a crash or a cancel finds the jobs of the first run."""
    text = json.dumps([base_url.rstrip("/"), layer_source, sorted(mapping.expressions.items()),
                       sorted(mapping.constants.items()), sorted(selected) if selected is not None else None],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _same(payload: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return json.dumps(payload, sort_keys=True) == json.dumps(other, sort_keys=True)


@dataclass
class ResumableOutcome:
    """A run's result: each feature's order id or reason, over every job of the run (earlier ones included)."""

    results: Dict[int, Tuple[Optional[str], Optional[str]]] = field(default_factory=dict)
    outcomes: List[BulkOutcome] = field(default_factory=list)
    resumed_jobs: int = 0
    already_ordered: int = 0
    sent: int = 0

    @property
    def created(self) -> int:
        return sum(1 for order_id, _ in self.results.values() if order_id)


def _record(results: Dict[int, Tuple[Optional[str], Optional[str]]], outcome: BulkOutcome,
            wanted: Optional[Mapping[int, Mapping[str, Any]]] = None) -> None:
    """Each item's order id or reason into `results` by feature; with `wanted` (feature id -> this run's payload)
    only items that sent that very payload (an earlier job of another layer may share feature ids)."""
    for item in outcome.items:
        if item.feature_id is None or results.get(item.feature_id, (None, None))[0]:
            continue  # an order the feature already has is never replaced by a later failure
        if wanted is not None and (item.feature_id not in wanted or not _same(wanted[item.feature_id], item.payload)):
            continue
        results[item.feature_id] = item.result("Still processing at the service; run again to follow it.")


def create_orders_resumably(journal: BulkJournal, client: Any, report: ValidationReport,
                            pricing: Optional[PricingReport], key: str, *, title: str = "",
                            progress: Progress = None, is_canceled: IsCanceled = None,
                            poll: float = 1.0) -> ResumableOutcome:
    """Create the orders of `report`'s valid features as a journaled bulk (BulkJob), in the calling thread.

    The jobs an earlier run with the same `key` left in the journal come first: open ones are followed to their
    end (a chunk whose sending was interrupted is looked up by its UUID before it is ever sent again). A feature
    whose same payload is already ordered or still processing in one of them is not sent again; the rest (never
    sent, withdrawn by a cancel, or refused) go in a new job. Raises core.errors.Cancelled when cancelled: what
    was sent stays in the journal for the next run.
    """
    result = ResumableOutcome()
    base_url = getattr(client, "base_url", "")
    earlier = [job for job in journal.jobs(with_items=False)
               if job.operation == "CREATE" and job.source.get(RUN_KEY) == key
               and job.base_url.rstrip("/") == base_url.rstrip("/")]
    wanted = dict(report.pairs())  # feature id -> the payload this run would send
    taken: Dict[int, List[Mapping[str, Any]]] = {}  # feature id -> payloads already ordered (or on their way)
    steps = len([job for job in earlier if job.is_open]) + 1

    def step_progress(index: int) -> Progress:
        if progress is None:
            return None
        return lambda percent: progress((index + percent / 100.0) * 100.0 / steps)

    done_steps = 0
    for job in earlier:
        bulk = BulkJob.resume(journal, job.job_id)
        if job.is_open:
            result.resumed_jobs += 1
            outcome = bulk.run(client, progress=step_progress(done_steps), is_canceled=is_canceled, poll=poll)
            done_steps += 1
        else:
            outcome = bulk.outcome()
        result.outcomes.append(outcome)
        _record(result.results, outcome, wanted)
        for item in outcome.items:
            if item.feature_id is not None and (item.ok or item.pending):
                taken.setdefault(item.feature_id, [])
                taken[item.feature_id].append(item.payload)
    pairs = []
    for feature_id, payload in wanted.items():
        if any(_same(sent, payload) for sent in taken.get(feature_id, ())):
            result.already_ordered += 1
        else:
            pairs.append((feature_id, payload))
    for check in report.invalid:
        result.results.setdefault(check.feature_id, (None, check.reason))
    if pairs:
        source = {**job_source(report, pricing), RUN_KEY: key}
        bulk = BulkJob.start(journal, "CREATE", pairs, base_url, title=title, source=source,
                             features=journal_features(report, pricing))
        result.sent = len(pairs)
        outcome = bulk.run(client, progress=step_progress(done_steps), is_canceled=is_canceled, poll=poll)
        result.outcomes.append(outcome)
        _record(result.results, outcome)
    if progress is not None:
        progress(100.0)
    return result


def search_imaging_windows(client: Any, request: Mapping[str, Any], *, replacing: bool = False,
                           exclusivity_days: int = 0, progress: Progress = None, is_canceled: IsCanceled = None,
                           poll: float = 2.0, max_poll: float = 5.0) -> Any:
    """One imaging-window search started and polled to its end in the calling thread (what WindowSearchWorkflow
    runs in its task); `request` is the service's forms.search_request. Raises core.errors.Cancelled when
    cancelled, the service's error when the search failed."""
    started = client.start_imaging_window_search(**request)
    return client.wait_imaging_window_search(
        started.id, poll=poll, max_poll=max(poll, max_poll), progress=progress, is_canceled=is_canceled,
        show_replacing_imaging_windows=replacing, exclusivity_days=exclusivity_days)


# -- archive imagery ---------------------------------------------------------------------------------------

# The file in an output folder that names the archive orders placed for it, so a rerun follows them.
ARCHIVE_JOURNAL = ".satellite_tasking_archive_orders.json"
SENDING = "sending"  # a journal entry written before the create went out: the order may exist without its id


@dataclass
class ArchiveImageryOutcome:
    """What order_archive_imagery did: the order as finished, its download report, its planned rasters (with
    the footprints file), and whether this run placed the order (False: it followed one an earlier run placed)."""

    order: Any
    report: Any
    imagery: Any
    placed: bool


def _archive_key(client: Any, request: Any) -> str:
    """The same service and request body make the same key: the journal entry a rerun finds."""
    base_url = getattr(getattr(client, "transport", None), "base_url", "") or getattr(client, "base_url", "")
    text = json.dumps([str(base_url).rstrip("/"), request.to_json()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_archive_journal(folder: str) -> Dict[str, Dict[str, Any]]:
    try:
        with open(os.path.join(folder, ARCHIVE_JOURNAL), encoding="utf-8") as handle:
            entries = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        # Never guess: an unreadable journal might hide an order already placed.
        raise RuntimeError(f"The order journal {os.path.join(folder, ARCHIVE_JOURNAL)} cannot be read ({error}); "
                           "move it away only if you are sure no order was placed for this folder.") from None
    return entries if isinstance(entries, dict) else {}


def _write_archive_journal(folder: str, key: str, entry: Dict[str, Any]) -> None:
    """One entry written atomically (a kill leaves the old journal or the new one, never half of one)."""
    entries = _read_archive_journal(folder)
    entries[key] = entry
    path = os.path.join(folder, ARCHIVE_JOURNAL)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(entries, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(path + ".tmp", path)


def _sent_before(client: Any, body: Mapping[str, Any], since: Optional[str]) -> Any:
    """The order a killed run sent (same name and products, created since `since`), or None when there is
    none. Two or more such orders leave it uncertain (OrderCreationUncertain, the client's rule): the journal
    keeps "sending" and nothing is sent until the user has looked."""
    from ..http import created_by_lost_create

    return created_by_lost_create(lambda: client.look_alikes_since(body, since), f"order {body.get('name')!r}",
                                  "products")


def _stage(progress: Progress, start: float, end: float) -> Callable[[float], None]:
    def moved(percent: float) -> None:
        if progress is not None:
            progress(start + (end - start) * max(0.0, min(100.0, float(percent))) / 100.0)
    return moved


def order_archive_imagery(client: Any, request: Any, folder: str, *, progress: Progress = None,
                          is_canceled: IsCanceled = None, on_stage: Optional[Callable[[str], Any]] = None,
                          poll: float = 5.0, max_poll: float = 30.0) -> ArchiveImageryOutcome:
    """Place the archive order `request` (the Orders service's forms) once, follow it until finished,
    download its files into `folder` and plan its rasters (core.rasters.plan_order_imagery: footprints
    written beside them), all in the calling thread. Adding the rasters to a project is the caller's, on
    the main thread (core.rasters.add_order_imagery).

    Never twice: the folder's journal names the order placed for this service and request, written before
    the create is sent ("sending", with the service's newest creation time) and after (its id). A rerun with
    the same request and folder follows that order — after a kill mid-create it looks for an order of the
    same name and products created since then before sending anything. A cancel (core.errors.Cancelled)
    stops the waiting or the download, never the order; .part files stay and the next run resumes them."""
    say = on_stage or (lambda text: None)
    os.makedirs(folder, exist_ok=True)
    key = _archive_key(client, request)
    body = request.to_json()
    entry = _read_archive_journal(folder).get(key) or {}
    order: Any = entry.get("order_id")
    placed = False
    if order is None and entry.get("state") == SENDING:
        say("Looking for the order an interrupted run sent…")
        found = _sent_before(client, body, entry.get("since"))
        if found is not None:
            order = found
            _write_archive_journal(folder, key, {"order_id": found.id, "name": found.name})
    if order is None:
        if is_canceled is not None and is_canceled():
            raise Cancelled("Cancelled before the order was placed: nothing was ordered.")
        say("Placing the order…")
        since = client.newest_created_on()
        _write_archive_journal(folder, key, {"state": SENDING, "since": since, "name": body.get("name")})
        order = client.create_order(request, is_canceled=is_canceled)
        _write_archive_journal(folder, key, {"order_id": order.id, "name": order.name})
        placed = True
    _stage(progress, 0, 5)(100.0)
    say("Planet is preparing the order…")
    order = client.wait_for(order, is_canceled=is_canceled, on_progress=_stage(progress, 5, 40), poll=poll,
                            max_poll=max_poll)
    if not order.has_files and order.state in ("failed", "cancelled"):
        why = order.last_message or order.state
        hints = f" ({'; '.join(order.error_hints)})" if order.error_hints else ""
        # The journal keeps a rerun with these inputs on this order: say how to order anew.
        raise ServiceError(f"Archive order {order.id} ended {order.state}: {why}{hints}. Nothing to download; to "
                           "order again, change the order name or choose another output folder.")
    say(f"Downloading the files of order {order.id} ({order.state})…")
    report = client.download_results(order, folder, is_canceled=is_canceled, progress=_stage(progress, 40, 95))
    say("Reading the rasters…")
    imagery = rasters.plan_order_imagery(order.id, order.name, report.files, order.products,
                                         is_canceled=is_canceled, progress=_stage(progress, 95, 100))
    return ArchiveImageryOutcome(order=order, report=report, imagery=imagery, placed=placed)


# -- orders placed one request each (UP42) ---------------------------------------------------------------

# The journal of such orders, beside the bulk journal (the same folder, so tests and profiles keep them together).
SCHEMA_ORDER_JOURNAL = "satellite_tasking_schema_orders.sqlite"
PLACED = "placed"
UNCERTAIN = "uncertain"  # the client could not tell whether the create was made (a read timeout, a 504)
# How many of the workspace's newest orders are read when looking for a create a killed run sent.
LOOKUP_LIMIT = 2000


def schema_journal_path() -> str:
    from .bulk.journal import default_journal_path

    return os.path.join(os.path.dirname(os.path.abspath(default_journal_path())), SCHEMA_ORDER_JOURNAL)


def order_key(run: str, feature_id: int, body: Mapping[str, Any]) -> str:
    """Which order a feature's request is: the run (service, layer, selection), the feature and the very body
    sent, so a rerun of the same input finds it and a changed value (a new name) orders anew."""
    text = json.dumps([run, feature_id, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SchemaOrderRun:
    """Each key's order id or reason; how many were placed by this run, found placed before, found after a kill."""

    results: Dict[str, Tuple[Optional[str], Optional[str]]] = field(default_factory=dict)
    placed: int = 0
    already: int = 0
    recovered: int = 0


class SchemaOrderJournal:
    """Orders sent one request each (a UP42 create), each written down before it is sent (its state SENDING and
    the workspace's newest order ids then) and after (its id), in SQLite (one row a commit: a kill loses none).

    A rerun settles what an interrupted one left: the order a SENDING entry stands for is looked for as the UP42
    client reconciles a lost create (an order not among the ids known then, with the request's name, product and
    geometry); found, it is that entry's order; not found, it was never made and is sent again. An UNCERTAIN entry
    (the service may still have been making it) not found is sent again only after core.http.LOOKUP_PATIENCE."""

    def __init__(self, path: Optional[str] = None, *, clock: Optional[Callable[[], float]] = None):
        import sqlite3
        import time

        self.path = path or schema_journal_path()
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self.clock = clock or time.time
        self.db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_orders (key TEXT PRIMARY KEY, base_url TEXT, state TEXT, "
                        "order_id TEXT, body TEXT, known TEXT, since REAL)")

    def close(self) -> None:
        self.db.close()

    def entry(self, key: str) -> Optional[Dict[str, Any]]:
        row = self.db.execute("SELECT state, order_id, body, known, since FROM schema_orders WHERE key=?",
                              (key,)).fetchone()
        if row is None:
            return None
        return {"state": row[0], "order_id": row[1], "body": json.loads(row[2] or "{}"),
                "known": json.loads(row[3] or "[]"), "since": row[4]}

    def _write(self, key: str, base_url: str, state: str, body: Mapping[str, Any], order_id: Optional[str] = None,
               known: Sequence[str] = (), since: Optional[float] = None) -> None:
        self.db.execute("INSERT OR REPLACE INTO schema_orders VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (key, base_url, state, order_id, json.dumps(dict(body), sort_keys=True), json.dumps(list(known)),
                         since if since is not None else self.clock()))

    def _forget(self, key: str) -> None:
        self.db.execute("DELETE FROM schema_orders WHERE key=?", (key,))

    def settle(self, client: Any, items: Sequence[Tuple[str, Mapping[str, Any]]]) -> SchemaOrderRun:
        """What the journal knows of `items` ((key, body)): placed ones with their ids, interrupted ones looked
        up (found: placed; an UNCERTAIN one not found and still within patience: its reason). Keys left out of
        the answer's `results` are to be sent."""
        from ..http import LOOKUP_PATIENCE, created_by_lost_create

        run = SchemaOrderRun()
        pending = []
        for key, body in items:
            entry = self.entry(key)
            if entry is None:
                continue
            if entry["state"] == PLACED and entry["order_id"]:
                run.results[key] = (entry["order_id"], None)
                run.already += 1
            else:
                pending.append((key, body, entry))
        if not pending:
            return run
        listed = self._newest_orders(client, [entry["known"] for _, _, entry in pending])
        claimed = {row[0] for row in self.db.execute("SELECT order_id FROM schema_orders WHERE order_id IS NOT NULL")}
        for key, body, entry in pending:
            name = body.get("displayName")
            known = set(entry["known"])
            newer: List[Any] = []
            for order in listed:
                if order.id in known:
                    break  # older than the send: there before it
                newer.append(order)

            def look_alikes(newer: List[Any] = newer, body: Mapping[str, Any] = body) -> List[Any]:
                return [o for o in newer if o.id not in claimed and o.name == body.get("displayName")
                        and o.data_product_id == body.get("dataProduct") and _same_geometry(o.geometry, body)]

            found = created_by_lost_create(look_alikes, f"order {name!r}", "product and geometry")
            if found is not None:
                self._write(key, client.base_url, PLACED, body, found.id)
                claimed.add(found.id)
                run.results[key] = (found.id, None)
                run.recovered += 1
            elif entry["state"] == UNCERTAIN and self.clock() - (entry["since"] or 0) < LOOKUP_PATIENCE:
                run.results[key] = (None, f"UP42 may still be making order {name!r} (an earlier run could not tell); "
                                          f"not sent again: run again in {LOOKUP_PATIENCE / 60:.0f} minutes, or check "
                                          "the order list.")
            else:
                self._forget(key)  # never made: sent again below
        return run

    @staticmethod
    def _newest_orders(client: Any, knowns: Sequence[Sequence[str]]) -> List[Any]:
        """The workspace's newest orders, newest first, read until every entry's known ids are reached."""
        wanted = [set(known) for known in knowns if known]
        listed: List[Any] = []
        page = 0
        while len(listed) < LOOKUP_LIMIT:
            answer = client.list_orders(page=page, size=200)
            listed += answer.results
            ids = {o.id for o in listed}
            if answer.is_last or not answer.results or all(known & ids for known in wanted):
                break
            page += 1
        return listed

    def known_ids(self, client: Any, window: int = 51) -> List[str]:
        """The workspace's newest order ids: what a create sent after this is told apart from."""
        return [o.id for o in client.list_orders(page=0, size=window).results]

    def place(self, client: Any, key: str, body: Mapping[str, Any], known: Sequence[str]) -> Tuple[Optional[str], Optional[str]]:
        """Create one order of `body`, journaled before and after; (order id, None) or (None, the refusal) when
        nothing was made. OrderCreationUncertain (the entry kept as UNCERTAIN) and other service errors propagate."""
        from ..errors import ApiError, OrderCreationUncertain, ValidationError

        self._write(key, client.base_url, SENDING, body, known=known)
        try:
            placement = client.place(body)
        except OrderCreationUncertain:
            self._write(key, client.base_url, UNCERTAIN, body, known=known)
            raise
        except ValidationError as error:
            self._forget(key)
            return None, refusal_text(error.field_errors, error.message)
        except ApiError:
            self._forget(key)  # the client settled it: not made
            raise
        if placement.ids:
            order_id = next(iter(placement.ids.values()))
            self._write(key, client.base_url, PLACED, body, order_id)
            return order_id, None
        self._forget(key)
        problems: Dict[str, List[str]] = {}
        for problem in placement.errors:
            for path, messages in (problem.field_errors or {"": [problem.message]}).items():
                problems.setdefault(path, []).extend(messages)
        return None, refusal_text(problems, "UP42 refused the order.")


def _same_geometry(geometry: Any, body: Mapping[str, Any]) -> bool:
    from ..http import geometries_match

    features = (body.get("featureCollection") or {}).get("features") or [{}]
    return geometries_match(geometry, features[0].get("geometry"), 1e-6)


def refusal_text(field_errors: Optional[Mapping[str, Sequence[str]]], fallback: str) -> str:
    """A service's refusal by parameter path, one "path: message" each ("params.cloudCoverage: …")."""
    if not field_errors:
        return fallback
    return "; ".join(f"{path}: {' '.join(messages)}" if path and path != "non_field_errors" else " ".join(messages)
                     for path, messages in field_errors.items())
