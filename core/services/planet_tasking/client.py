"""Client for the Planet Tasking API v2: every documented endpoint, typed results, safe creates."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set, Union
from urllib.parse import urlsplit

import requests

from ...errors import (
    ApiError,
    CancellationChargeRequired,
    Cancelled,
    ConflictError,
    ImagingWindowSearchFailed,
    MalformedResponseError,
    NotFoundError,
    OrderCreationUncertain,
    ValidationError,
)
from ...http import (
    LOOKUP_PATIENCE,
    HttpTransport,
    created_by_lost_create,
    geometries_match,
    may_still_be_running,
    path_id,
)
from ...log import RedactingFilter, get_logger
from ...polling import completed_share, poll_until
from .models import (
    BulkPayload,
    BulkStatus,
    Capture,
    ImagingWindowSearch,
    Order,
    OrderEdit,
    Page,
    Pricing,
    PricingPreview,
    format_time,
)
from .rules import is_charge_refusal

LOGGER = get_logger("planet_tasking")
LOGGER.addFilter(RedactingFilter())

DEFAULT_BASE_URL = "https://api.planet.com/tasking/v2/"
MAX_BULK_PAYLOADS = 1000  # planet-tasking-bulk.txt: "up to 1000 Tasking Orders ... in a single request"
BULK_OPERATIONS = ("CREATE", "EDIT", "CANCEL")
# Imaging-window searches take "up to 5 minutes" (planet-assured-tasking.txt); progress is scaled to it.
SEARCH_EXPECTED_SECONDS = 300.0
CANCELLED_STATES = frozenset({"CANCELLED", "PENDING_CANCELLATION"})

# The order filters the documents name; others the service accepts are passed through unchanged.
DOCUMENTED_ORDER_FILTERS = (
    "name", "name__icontains", "status", "status__in", "scheduling_type", "order_type", "pl_number",
    "product", "quota_units", "created_time__gt", "created_time__gte", "created_time__lt",
    "created_time__lte", "updated_time__gt", "updated_time__gte", "updated_time__lt", "updated_time__lte",
    "start_time__gt", "start_time__gte", "start_time__lt", "start_time__lte", "end_time__gt",
    "end_time__gte", "end_time__lt", "end_time__lte", "fields", "ordering", "limit", "offset",
)
DOCUMENTED_CAPTURE_FILTERS = ("order_id", "status", "fulfilling", "fields", "ordering", "limit", "offset")

TimeLike = Union[datetime, date, str]
Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]


def time_param(value: Any) -> str:
    """A time argument as the service wants it: aware datetimes in UTC ("...Z"), strings unchanged.

    A naive datetime is taken as UTC (Planet works in UTC); a QDateTime is converted to UTC first.
    """
    if isinstance(value, str):
        return value
    if hasattr(value, "toUTC") and hasattr(value, "toPyDateTime"):  # QDateTime, without importing Qt
        value = value.toUTC().toPyDateTime().replace(tzinfo=timezone.utc)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"expected a datetime or an ISO 8601 string, got {type(value).__name__}")


def query_value(value: Any) -> Optional[str]:
    """One query parameter's text: lists comma-joined, booleans as true/false, times in UTC."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_time(value):
        return time_param(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return ",".join(query_value(v) or "" for v in items)
    return str(value)


def _is_time(value: Any) -> bool:
    return isinstance(value, (datetime, date)) or (hasattr(value, "toUTC") and hasattr(value, "toPyDateTime"))


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """A payload with every datetime (at any depth) written as the service's UTC text."""
    # Exact-type checks first, and GeoJSON "coordinates" (numbers by definition) passed through
    # unwalked: a payload is mostly coordinates, and walking them cost more than the HTTP of a bulk.
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is dict:
        return {
            str(k): v if type(v) in _JSON_SCALARS or k == "coordinates" else jsonable(v)
            for k, v in value.items()
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _JSON_SCALARS else jsonable(v) for v in value]
    if _is_time(value):
        return time_param(value)
    if isinstance(value, Mapping):
        return jsonable(dict(value))
    if isinstance(value, (list, tuple)):
        return jsonable(list(value))
    return value


def _with_id(fields: Union[str, Sequence[str]]) -> str:
    # Order.from_json needs the id; asking for some fields without it would make rows nobody can use.
    names = [f.strip() for f in (fields.split(",") if isinstance(fields, str) else fields) if f and f.strip()]
    if "id" not in names:
        names.insert(0, "id")
    return ",".join(names)


def same_geometry(a: Any, b: Any, tolerance: float = 1e-5) -> bool:
    """Whether two GeoJSON geometries are the same shape, allowing the service's rounding (~1 m)."""
    return geometries_match(a, b, tolerance)


def _parsed_one_by_one(results: List[Any], parse: Callable[[dict], Any]) -> Iterator[Any]:
    """Each item of a page's results parsed, in order, the page letting go of it as it is handed on: an item
    the caller keeps no longer is freed at once, not with the whole page (10,000 orders' GeoJSON lists and
    dicts otherwise lived on through the young collections into the old generation, whose full collections
    hold the GIL 30-50 ms)."""
    results.reverse()
    while results:
        yield parse(results.pop())


def _geometry_hook(geometry_as_wkb: bool) -> Optional[Callable[[dict], Any]]:
    """The JSON object hook of a listing whose geometries the caller wants as WKB bytes (a map layer's writer:
    each geometry's coordinate lists freed as the page is read, see core.layers.geojson_objects_to_wkb)."""
    if not geometry_as_wkb:
        return None
    from ...layers import geojson_objects_to_wkb  # PyQGIS: only when asked for

    return geojson_objects_to_wkb


class TaskingClient:
    """The Planet Tasking API v2 (orders, pricing, imaging windows, captures, bulk), typed.

    `timeout` is per request in seconds (None: QGIS's network timeout); `sleep` is what waiting
    between retries and polls calls, replaceable so tests can record waits instead of sleeping;
    `on_wait(seconds, text)` is told of every wait before it starts (a task can show "waiting 30 s as
    the service asked"), and `last_wait` holds the latest; `lookup_patience` is how long a create
    that timed out is looked for before OrderCreationUncertain.
    One client per thread: a QgsTask should make its own.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        session: Optional[requests.Session] = None,
        timeout: Optional[float] = None,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        lookup_patience: float = LOOKUP_PATIENCE,
        on_wait: Optional[Callable[[float, str], Any]] = None,
    ):
        self.transport = HttpTransport(
            base_url, api_key, session=session, timeout=timeout, max_retries=max_retries, sleep=sleep,
            service="The Planet tasking service",
        )
        self.transport.on_wait = on_wait
        self.lookup_patience = float(lookup_patience)

    def __repr__(self) -> str:
        return f"TaskingClient(base_url={self.transport.base_url!r}, key=***)"

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def sleep(self) -> Callable[[float], None]:
        return self.transport.sleep

    @property
    def on_wait(self) -> Optional[Callable[[float, str], Any]]:
        return self.transport.on_wait

    @on_wait.setter
    def on_wait(self, hook: Optional[Callable[[float, str], Any]]) -> None:
        self.transport.on_wait = hook

    @property
    def last_wait(self) -> Optional[Any]:
        """The latest wait, (seconds, why), or None."""
        return self.transport.last_wait

    # -- version ---------------------------------------------------------------------------------

    def version(self) -> str:
        """The API's version text (GET version.txt)."""
        return str(self.transport.request("GET", "version.txt", expect_json=False).data).strip()

    # -- orders ----------------------------------------------------------------------------------

    def create_order(self, payload: Mapping[str, Any], *, is_canceled: IsCanceled = None) -> Order:
        """Create one order from an order payload ({"name", "geometry", ...} or an imaging window).

        The API takes no client-chosen id, so a create whose answer was lost or ambiguous (connection
        dropped after sending, read timeout, 429 or 5xx, unreadable body) is sent again only once the
        service has proved it does not have it: the orders with the same name that existed before
        sending are noted first; after such a failure the orders with that name are listed again, and
        a new one with the same geometry (or imaging window) is the order sent. One match: returned.
        None, with the proof described in `_after_ambiguous_create`: sent again. Several, or no proof
        either way: OrderCreationUncertain, and nothing is sent. Without a name there is no way to
        tell, so the failure becomes OrderCreationUncertain. `is_canceled` (a task's) stops the looking: once
        the order was sent, a cancel cannot undo it, so it ends in OrderCreationUncertain, never in a re-send.
        """
        body = jsonable(payload)
        name = body.get("name")
        known_ids = self._order_ids_named(name) if name else None
        attempt = 0
        while True:
            try:
                reply = self.transport.request("POST", "orders/", json_body=body, safe=False, ok_statuses=(200, 201))
            except ApiError as error:
                if not error.maybe_processed:
                    raise
                if known_ids is None:
                    raise OrderCreationUncertain(
                        "The connection failed while an order without a name was being sent, so it cannot be "
                        "looked up. Check the order list before sending it again.",
                        status=error.status, method="POST", url=error.url) from error
                found = self._after_ambiguous_create(
                    error, attempt, lambda: self._reconcile_created_order(body, known_ids),
                    f"order {name!r}", is_canceled)
                if found is not None:
                    LOGGER.info("order %s was created although its answer was lost; not sending it again", found.id)
                    return found
                attempt += 1
                LOGGER.warning("order %r was not created by the failed request; sending it again", name)
                continue
            if not isinstance(reply.data, dict) or "id" not in reply.data:
                # A 201 whose body lacks the order: it was created; find it rather than guess.
                found = self._reconcile_created_order(body, known_ids) if known_ids is not None else None
                if found is not None:
                    return found
                raise OrderCreationUncertain(status=reply.status, body=reply.data, method="POST", url=reply.url)
            return Order.from_json(reply.data)

    def _after_ambiguous_create(self, error: ApiError, attempt: int, look: Callable[[], Optional[Any]],
                                what: str, is_canceled: IsCanceled = None) -> Optional[Any]:
        """What became of a create (`what`) that failed ambiguously: `look()`'s finding, or None once
        the service has proved it does not have it, when it may be sent again (attempt `attempt`+1).

        What counts as proof. A look-up proves absence only if it reads the orders after the server's
        own handling of the failed POST has ended; otherwise the order may be made a moment later and
        a re-send doubles it. The server's handling ends when it answers, however badly (429, 5xx, a
        truncated body) or closes the connection: one look-up after that answer settles it. After a
        read timeout (or a gateway's 504) nothing tells when, or whether, the service finishes: the
        POST may sit in its queue for any time. So there is no proof of absence at all; the orders are
        looked up again and again, with back-off, until the order appears (returned) or
        `lookup_patience` seconds of wall-clock time have passed, and then OrderCreationUncertain says
        so. Such a create is never sent again.

        Before the first look the wait is what the answer's Retry-After asked (429 and 503 carry it),
        else back-off with full jitter; a Retry-After above the transport's cap is not waited for: the
        look-up is made at once and, if the order is not there, the error says how long was asked.
        After `max_retries` re-sends proved necessary, the last error is raised.
        """
        transport = self.transport
        asks_too_long = transport.asks_too_long(error)
        if not asks_too_long:
            transport.wait_to_send_again(error, attempt, f"before looking up {what}: {error.message}")
        if not may_still_be_running(error):
            found = look()
        else:
            found = self._look_until_found(error, look, what, is_canceled)
        if found is not None:
            return found
        if is_canceled is not None and is_canceled():
            # Proved absent and not sent again: nothing was ordered.
            raise Cancelled(f"Cancelled: {what} was not created, and it was not sent again.")
        if asks_too_long:
            raise transport.asked_too_long(error)
        if attempt >= transport.max_retries:
            raise error
        return None

    def _look_until_found(self, error: ApiError, look: Callable[[], Optional[Any]], what: str,
                          is_canceled: IsCanceled = None) -> Any:
        """`look()` repeated with back-off until it finds something (returned) or `lookup_patience`
        seconds pass, or the task is cancelled (OrderCreationUncertain: the service may still be making it)."""
        started = time.monotonic()
        looks = 0
        while True:
            found = look()
            looks += 1
            if found is not None:
                return found
            if is_canceled is not None and is_canceled():
                raise self._stopped_looking(error, what)
            waited = time.monotonic() - started
            if waited >= self.lookup_patience:
                raise OrderCreationUncertain(
                    f"{error.message} Since then {what} was looked up {looks} times over {waited:.0f} s and has "
                    "not appeared: the service may still be creating it, so it was not sent again. Check the "
                    "order list before sending it again.", status=error.status, method="POST", url=error.url)
            self.transport.pause(
                self.transport.backoff_delay(looks),
                f"{what} is not listed yet; the service may still be working on it (look {looks})")

    @staticmethod
    def _stopped_looking(error: ApiError, what: str) -> OrderCreationUncertain:
        return OrderCreationUncertain(
            f"{error.message} Looking for {what} was cancelled: it was sent, and the service may have it or still "
            "be creating it, so it was not sent again. Check the order list before sending it again.",
            status=error.status, method="POST", url=error.url)

    def _order_ids_named(self, name: str) -> Set[str]:
        return {o.id for o in self._same_named(name, fields=["id", "name"]) if o.name is None or o.name == name}

    def _same_named(self, name: str, **kwargs: Any) -> Iterator[Order]:
        # `name` (exact; the documents list name among the filters) narrows it to the few orders that
        # matter; `name__icontains` (documented by example) keeps it narrow on a service that knew only
        # that one. Equality is checked here in any case.
        return self.iter_orders(name=name, name__icontains=name, page_size=1000, prefetch=False, **kwargs)

    def _reconcile_created_order(self, body: Mapping[str, Any], known_ids: Set[str]) -> Optional[Order]:
        """The new order with `body`'s name and target, if the service lists one (one look-up)."""
        name = body.get("name")
        return created_by_lost_create(
            lambda: [o for o in self._same_named(name)
                     if o.id not in known_ids and o.name == name and self._same_target(o, body)],
            f"order {name!r}", "geometry")

    @staticmethod
    def _same_target(order: Order, body: Mapping[str, Any]) -> bool:
        if body.get("imaging_window"):
            return order.imaging_window in (None, body["imaging_window"]) and (
                "geometry" not in body or same_geometry(order.original_geometry or order.geometry, body["geometry"]))
        if "geometry" in body:
            return same_geometry(order.original_geometry, body["geometry"]) or same_geometry(
                order.geometry, body["geometry"])
        return True

    def get_order(self, order_id: str) -> Order:
        return Order.from_json(self.transport.get(f"orders/{path_id(order_id)}/"))

    @staticmethod
    def _listing_params(limit: Optional[int], offset: Optional[int], fields: Any, ordering: Any,
                        filters: Mapping[str, Any]) -> Dict[str, str]:
        params: Dict[str, str] = {}
        for key, value in filters.items():
            text = query_value(value)
            if text is not None:
                params[key] = text
        if fields:
            params["fields"] = _with_id(fields)
        if ordering:
            params["ordering"] = ordering if isinstance(ordering, str) else ",".join(ordering)
        if limit is not None:
            params["limit"] = str(int(limit))
        if offset is not None:
            params["offset"] = str(int(offset))
        return params

    def list_orders(self, *, limit: Optional[int] = None, offset: Optional[int] = None,
                    fields: Union[str, Sequence[str], None] = None, ordering: Union[str, Sequence[str], None] = None,
                    geometry_as_wkb: bool = False, **filters: Any) -> Page[Order]:
        """One page of orders. Filters are the service's query parameters (DOCUMENTED_ORDER_FILTERS:
        e.g. status="FULFILLED", status__in=["CANCELLED", "PENDING_CANCELLATION"], name__icontains="x",
        created_time__gt=datetime(..., tzinfo=timezone.utc), pl_number=..., scheduling_type="ASSURED");
        lists are comma-joined, times sent in UTC. `fields` limits the fields returned (the id is always
        asked for); `ordering` is e.g. ["-updated_time", "-created_time"]; `geometry_as_wkb`: see iter_orders."""
        data = self.transport.get("orders/", self._listing_params(limit, offset, fields, ordering, filters),
                                  object_hook=_geometry_hook(geometry_as_wkb))
        return self._page(data, Order.from_json)

    def iter_orders(self, *, page_size: int = 100, fields: Union[str, Sequence[str], None] = None,
                    ordering: Union[str, Sequence[str], None] = None, is_canceled: IsCanceled = None,
                    prefetch: bool = True, geometry_as_wkb: bool = False, **filters: Any) -> Iterator[Order]:
        """Every order matching the filters (as list_orders), page after page, lazily; with `prefetch`
        the next page is already on its way while this one is read (at most one page ahead). With
        `geometry_as_wkb`, the orders' geometries are WKB bytes made as each page is read (see _geometry_hook)."""
        params = self._listing_params(page_size, None, fields, ordering, filters)
        for page in self.transport.iter_pages("orders/", params, is_canceled=is_canceled, prefetch=prefetch,
                                              object_hook=_geometry_hook(geometry_as_wkb)):
            yield from _parsed_one_by_one(page["results"], Order.from_json)

    def count_orders(self, **filters: Any) -> int:
        """How many orders match the filters (one small request)."""
        return self.list_orders(limit=1, **filters).count

    def edit_order(self, order_id: str, *, name: Optional[str] = None, start_time: Optional[TimeLike] = None,
                   end_time: Optional[TimeLike] = None, rank: Optional[int] = None) -> OrderEdit:
        """Change an order's name, start/end time or rank (PUT; only the given fields are sent).

        The service decides by the order's status what may change (start_time only while RECEIVED,
        PENDING or REQUESTED; end_time also while IN_PROGRESS) and answers 400 otherwise.
        """
        body: Dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if start_time is not None:
            body["start_time"] = time_param(start_time)
        if end_time is not None:
            body["end_time"] = time_param(end_time)
        if rank is not None:
            body["rank"] = int(rank)
        if not body:
            raise ValueError("nothing to change: give a name, start_time, end_time or rank")
        # PUT sets the fields to absolute values, so sending it twice leaves the same order: safe to retry.
        data = self.transport.request("PUT", f"orders/{path_id(order_id)}/", json_body=body).data
        return OrderEdit.from_json(data or {})

    def cancel_order(self, order_id: str, *, accept_cancellation_charge: bool = False) -> None:
        """Cancel an order (DELETE, 204).

        Raises CancellationChargeRequired when the contract's free cancellations are used up and
        `accept_cancellation_charge` was not set. A cancel whose answer was lost is checked by reading
        the order before it is sent again: a second DELETE of a cancelled order would be refused.
        """
        path = f"orders/{path_id(order_id)}/"
        params = {"accept_cancellation_charge": "true"} if accept_cancellation_charge else None
        attempt = 0
        while True:
            try:
                self.transport.request("DELETE", path, params=params, safe=False, expect_json=False,
                                       ok_statuses=(200, 202, 204))
                return
            except ValidationError as error:
                if not is_charge_refusal(error.body):
                    raise
                detail = error.server_detail
                raise CancellationChargeRequired(
                    CancellationChargeRequired.default_message + (f" The service said: {detail}" if detail else ""),
                    field_errors=error.field_errors, status=error.status, body=error.body, method=error.method,
                    url=error.url) from None
            except ApiError as error:
                if not error.maybe_processed or attempt >= self.transport.max_retries:
                    raise
                if self.transport.asks_too_long(error):
                    # Not waited for; but the cancel may have been done before the answer said "later".
                    if self.get_order(order_id).status in CANCELLED_STATES:
                        return
                    raise self.transport.asked_too_long(error) from None
                # A second DELETE cannot double anything (a cancelled order refuses it), so one read
                # after the wait is enough to decide.
                self.transport.wait_to_send_again(error, attempt, f"before checking the cancel of {order_id}")
                attempt += 1
                if self.get_order(order_id).status in CANCELLED_STATES:
                    return

    # -- pricing ---------------------------------------------------------------------------------

    def order_pricing(self, order_id: str) -> Pricing:
        """How an existing order's quota cost is made up (GET /orders/{id}/pricing/)."""
        return Pricing.from_json(self.transport.get(f"orders/{path_id(order_id)}/pricing/") or {})

    def preview_pricing(self, payload: Mapping[str, Any]) -> Pricing:
        """The estimated cost of an order-like payload before creating it (POST /pricing/)."""
        # Pricing only computes; sending it twice changes nothing, so it may be retried.
        data = self.transport.request("POST", "pricing/", json_body=jsonable(payload), safe=True).data
        return Pricing.from_json(data or {})

    def preview_pricing_list(self, payloads: Iterable[Mapping[str, Any]]) -> PricingPreview:
        """Estimated costs of several payloads at once: one Pricing per payload, in order; an entry the
        service could not price carries `error` and is left out of the total."""
        body = [jsonable(p) for p in payloads]
        data = self.transport.request("POST", "pricing/", json_body=body, safe=True).data
        return PricingPreview.from_json(data or {})

    # -- imaging windows (assured tasking) -------------------------------------------------------

    def start_imaging_window_search(
        self,
        geometry: Mapping[str, Any],
        *,
        pl_number: Optional[str] = None,
        product: Optional[str] = None,
        start_time: Optional[TimeLike] = None,
        end_time: Optional[TimeLike] = None,
        sat_elevation_angle_min: Optional[float] = None,
        sat_elevation_angle_max: Optional[float] = None,
        **extra: Any,
    ) -> ImagingWindowSearch:
        """Start an asynchronous imaging-window search for a Point or two-point LineString
        (POST /imaging-windows/search/, 201); poll it with get_/wait_imaging_window_search."""
        body: Dict[str, Any] = {"geometry": dict(geometry)}
        for key, value in (("pl_number", pl_number), ("product", product),
                           ("sat_elevation_angle_min", sat_elevation_angle_min),
                           ("sat_elevation_angle_max", sat_elevation_angle_max)):
            if value is not None:
                body[key] = value
        if start_time is not None:
            body["start_time"] = time_param(start_time)
        if end_time is not None:
            body["end_time"] = time_param(end_time)
        body.update({k: jsonable(v) for k, v in extra.items() if v is not None})
        # A search books nothing and costs nothing; a duplicate made by a retry is only an unused
        # search, so this POST is retried like a read.
        data = self.transport.request("POST", "imaging-windows/search/", json_body=body, safe=True,
                                      ok_statuses=(200, 201, 202)).data
        return ImagingWindowSearch.from_json(data)

    def get_imaging_window_search(self, search_id: str, *, show_replacing_imaging_windows: bool = False,
                                  exclusivity_days: Optional[int] = None) -> ImagingWindowSearch:
        """A search's status and the windows found so far. `show_replacing_imaging_windows` also lists
        windows that would replace existing assured orders; `exclusivity_days` (0, 7 or 30) asks for
        each window's pricing_details."""
        params: Dict[str, str] = {}
        if show_replacing_imaging_windows:
            params["show_replacing_imaging_windows"] = "true"
        if exclusivity_days is not None:
            params["order_template__exclusivity_days"] = str(int(exclusivity_days))
        data = self.transport.get(f"imaging-windows/search/{path_id(search_id)}/", params or None)
        return ImagingWindowSearch.from_json(data)

    def wait_imaging_window_search(
        self,
        search_id: str,
        *,
        poll: float = 2.0,
        max_poll: float = 15.0,
        progress: Progress = None,
        is_canceled: IsCanceled = None,
        timeout: Optional[float] = 600.0,
        show_replacing_imaging_windows: bool = False,
        exclusivity_days: Optional[int] = None,
        on_partial: Optional[Callable[[ImagingWindowSearch], Any]] = None,
    ) -> ImagingWindowSearch:
        """Poll a search until DONE (returned) or FAILED (ImagingWindowSearchFailed), with backoff.

        `progress` gets 0–100 (QgsTask.setProgress fits), scaled to the documented 5 minutes;
        `is_canceled` is asked between polls and during waits (Cancelled is raised); `timeout` is the
        total wait in seconds (WaitTimeout). `on_partial` gets every state read, finished or not:
        "results will become available gradually up to 5 minutes" (planet-assured-tasking.txt), so a
        caller can show the windows found so far. It is called on the polling thread."""
        def fetch() -> ImagingWindowSearch:
            state = self.get_imaging_window_search(
                search_id, show_replacing_imaging_windows=show_replacing_imaging_windows,
                exclusivity_days=exclusivity_days)
            if on_partial is not None:
                on_partial(state)
            return state

        def percent(search: ImagingWindowSearch, waited: float) -> float:
            if search.is_finished:
                return 100.0
            if search.status == "CREATED":
                return 2.0
            return min(95.0, 5.0 + 90.0 * waited / SEARCH_EXPECTED_SECONDS)

        search = self._wait(fetch, lambda s: s.is_finished, percent, poll=poll, max_poll=max_poll,
                            progress=progress, is_canceled=is_canceled, timeout=timeout,
                            what=f"imaging-window search {search_id}")
        if search.status == "FAILED":
            raise ImagingWindowSearchFailed(
                "The imaging-window search failed"
                + (f": {search.error_message}" if search.error_message else ".")
                + (f" (code {search.error_code})" if search.error_code else ""),
                error_code=search.error_code, body=search.raw)
        return search

    # -- captures --------------------------------------------------------------------------------

    def _capture_params(self, order_ids: Union[str, Sequence[str], None], status: Optional[str],
                        fulfilling: Optional[bool], filters: Dict[str, Any]) -> Dict[str, Any]:
        if order_ids is not None:
            filters["order_id"] = [order_ids] if isinstance(order_ids, str) else list(order_ids)
        if status is not None:
            filters["status"] = status
        if fulfilling is not None:
            filters["fulfilling"] = bool(fulfilling)
        return filters

    def list_captures(self, order_ids: Union[str, Sequence[str], None] = None, *, status: Optional[str] = None,
                      fulfilling: Optional[bool] = None, limit: Optional[int] = None, offset: Optional[int] = None,
                      fields: Union[str, Sequence[str], None] = None, ordering: Union[str, Sequence[str], None] = None,
                      **filters: Any) -> Page[Capture]:
        """One page of captures, by order id(s) (comma-joined), status (QUEUED, PROCESSING, PUBLISHED,
        FAILED), `fulfilling=True` for the captures that fulfilled their order, and any other capture
        filter the service accepts (e.g. acquired_time__gte=...)."""
        filters = self._capture_params(order_ids, status, fulfilling, dict(filters))
        data = self.transport.get("captures/", self._listing_params(limit, offset, fields, ordering, filters))
        return self._page(data, Capture.from_json)

    def iter_captures(self, order_ids: Union[str, Sequence[str], None] = None, *, status: Optional[str] = None,
                      fulfilling: Optional[bool] = None, page_size: int = 100,
                      fields: Union[str, Sequence[str], None] = None, ordering: Union[str, Sequence[str], None] = None,
                      is_canceled: IsCanceled = None, prefetch: bool = True, geometry_as_wkb: bool = False,
                      **filters: Any) -> Iterator[Capture]:
        """Every capture matching (as list_captures), page after page, lazily (see iter_orders)."""
        filters = self._capture_params(order_ids, status, fulfilling, dict(filters))
        params = self._listing_params(page_size, None, fields, ordering, filters)
        for page in self.transport.iter_pages("captures/", params, is_canceled=is_canceled, prefetch=prefetch,
                                              object_hook=_geometry_hook(geometry_as_wkb)):
            yield from _parsed_one_by_one(page["results"], Capture.from_json)

    # -- bulk --------------------------------------------------------------------------------------

    def create_bulk(self, payloads: Iterable[Mapping[str, Any]], operation_type: str = "CREATE",
                    bulk_id: Optional[str] = None) -> str:
        """Start a bulk CREATE, EDIT or CANCEL of up to 1000 orders (POST /bulk/, 202); the bulk's id.

        The client always names the bulk (a new uuid4 unless `bulk_id` is given), so a bulk whose
        answer was lost is simply sent again under the same id; if the service then says the id is
        taken, the bulk it already has is the one sent, and its id is returned.
        """
        operation_type = operation_type.upper()
        if operation_type not in BULK_OPERATIONS:
            raise ValueError(f"operation_type must be one of {', '.join(BULK_OPERATIONS)}")
        order_payloads = [jsonable(p) for p in payloads]
        if not order_payloads:
            raise ValueError("a bulk needs at least one payload")
        if len(order_payloads) > MAX_BULK_PAYLOADS:
            raise ValueError(f"a bulk takes at most {MAX_BULK_PAYLOADS} payloads; split the "
                             f"{len(order_payloads)} into several bulks")
        bulk_id = str(uuid.UUID(str(bulk_id))) if bulk_id else str(uuid.uuid4())
        body = {"id": bulk_id, "order_payloads": order_payloads, "operation_type": operation_type}
        resent = False
        attempt = 0
        while True:
            try:
                reply = self.transport.request("POST", "bulk/", json_body=body, safe=False, expect_json=False,
                                               ok_statuses=(200, 201, 202))
            except ApiError as error:
                if resent and isinstance(error, (ValidationError, ConflictError)) and self._bulk_exists(bulk_id):
                    LOGGER.info("bulk %s was received although its answer was lost; not sending it again", bulk_id)
                    return bulk_id
                if not error.maybe_processed or attempt >= self.transport.max_retries:
                    # Out of re-sends: the caller keeps the id (the bulk journal asks for it on resume).
                    raise
                # Its own id makes the look-up exact; it is sent again only once proved absent, as a single
                # order is (the service refusing a taken id is a second guard, not the first).
                if self._after_ambiguous_create(error, attempt, lambda: self._bulk_if_received(bulk_id),
                                                f"bulk {bulk_id}") is not None:
                    LOGGER.info("bulk %s was received although its answer was lost; not sending it again", bulk_id)
                    return bulk_id
                attempt += 1
                resent = True
                continue
            location = reply.headers.get("Location") or ""
            returned = [part for part in urlsplit(location).path.split("/") if part]
            return returned[-1] if returned else bulk_id

    def _bulk_if_received(self, bulk_id: str) -> Optional[BulkStatus]:
        try:
            return self.get_bulk(bulk_id)
        except NotFoundError:
            return None
        except ApiError as lookup_error:
            raise OrderCreationUncertain(
                f"The connection failed while bulk {bulk_id} was being sent, and looking it up failed too "
                f"({lookup_error.message}). It was not sent again; its id lets it be checked later.",
                method="POST") from lookup_error

    def _bulk_exists(self, bulk_id: str) -> bool:
        try:
            self.get_bulk(bulk_id)
        except NotFoundError:
            return False
        return True

    def get_bulk(self, bulk_id: str) -> BulkStatus:
        """A bulk's status and per-payload counts (GET /bulk/{id}/)."""
        return BulkStatus.from_json(self.transport.get(f"bulk/{path_id(bulk_id)}/"))

    def list_bulk_payloads(self, bulk_id: str, *, limit: Optional[int] = None,
                           offset: Optional[int] = None) -> Page[BulkPayload]:
        data = self.transport.get(f"bulk/{path_id(bulk_id)}/payloads/",
                                  self._listing_params(limit, offset, None, None, {}) or None)
        return self._page(data, BulkPayload.from_json)

    def iter_bulk_payloads(self, bulk_id: str, *, page_size: Optional[int] = None,
                           is_canceled: IsCanceled = None) -> Iterator[BulkPayload]:
        """Each payload of a bulk with the order it made or the server's error (GET /bulk/{id}/payloads/)."""
        params = self._listing_params(page_size, None, None, None, {}) or None
        for page in self.transport.iter_pages(f"bulk/{path_id(bulk_id)}/payloads/", params, is_canceled=is_canceled):
            for item in page["results"]:
                yield BulkPayload.from_json(item)

    def wait_bulk(self, bulk_id: str, *, poll: float = 1.0, max_poll: float = 10.0, progress: Progress = None,
                  is_canceled: IsCanceled = None, timeout: Optional[float] = 600.0) -> BulkStatus:
        """Poll a bulk until COMPLETE, with backoff; `progress` gets 0–100 from its payload counts."""
        def percent(status: BulkStatus, waited: float) -> float:
            return completed_share(status.successful_payload_count + status.failed_payload_count,
                                   status.payload_count, status.is_complete)

        return self._wait(lambda: self.get_bulk(bulk_id), lambda s: s.is_complete, percent, poll=poll,
                          max_poll=max_poll, progress=progress, is_canceled=is_canceled, timeout=timeout,
                          what=f"bulk {bulk_id}")

    # -- shared helpers ------------------------------------------------------------------------

    @staticmethod
    def _page(data: Any, parse: Callable[[dict], Any]) -> Page:
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise MalformedResponseError("The Planet tasking service sent a page without a list of results.",
                                         body=str(data)[:500])
        results = [parse(item) for item in data["results"]]
        return Page(count=int(data.get("count") or len(results)), next=data.get("next"),
                    previous=data.get("previous"), results=results)

    def _wait(self, fetch: Callable[[], Any], finished: Callable[[Any], bool],
              percent: Callable[[Any, float], float], *, poll: float, max_poll: float, progress: Progress,
              is_canceled: IsCanceled, timeout: Optional[float], what: str) -> Any:
        return poll_until(fetch, finished, percent=percent, poll=poll, max_poll=max_poll, progress=progress,
                          is_canceled=is_canceled, timeout=timeout, sleep=self.transport.sleep, what=what)
