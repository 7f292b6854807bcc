"""Client for UP42's tasking API (v2): login and token refresh, glossary, schemas, estimate, safe creates, orders,
feasibility studies and quotations, typed."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence
from urllib.parse import urljoin

import requests
from requests.auth import AuthBase

from ...errors import (
    ApiError,
    AuthenticationError,
    ConflictError,
    MalformedResponseError,
    NetworkError,
    OrderCreationUncertain,
    ValidationError,
)
from ...http import (
    HttpTransport,
    create_session,
    geometries_match,
    may_still_be_running,
    optional_int,
    parse_retry_after,
    path_id,
    register_secret,
    retry_after_of,
)
from ...log import RedactingFilter, get_logger
from ...settings import check_url_has_no_credentials
from .models import (
    QUOTATION_DECISIONS,
    DataProduct,
    Estimate,
    FeasibilityStudy,
    Order,
    OrderParametersRefused,
    Page,
    Placement,
    Quotation,
    parameter_errors,
)

LOGGER = get_logger("up42")
LOGGER.addFilter(RedactingFilter())

DEFAULT_BASE_URL = "https://api.up42.com/"
DEFAULT_AUTH_URL = "https://auth.up42.com/"
TOKEN_PATH = "realms/public/protocol/openid-connect/token"
USERINFO_PATH = "realms/public/protocol/openid-connect/userinfo"
CLIENT_ID = "up42-api"
# A token is renewed this long before it expires (up42-py renews 30 s before), so a request never
# leaves with a token that dies on the way.
REFRESH_MARGIN = 30.0
# How many recent orders beyond the request's own are read to find a create whose answer was lost (newest
# first): room for orders other people of the workspace place meanwhile. UP42's pages hold at most 2,000.
RECONCILE_MARGIN = 50
MAX_PAGE_SIZE = 2000


class BearerTokenAuth(AuthBase):
    """`Authorization: Bearer <token>` with a token the client keeps fresh; its repr shows no token."""

    def __init__(self, token: Callable[[], str]):
        self._token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self._token()}"
        return request

    def __repr__(self) -> str:
        return "BearerTokenAuth(token=***)"


def _problem_field_errors(body: Any) -> Dict[str, List[str]]:
    """Per-parameter messages of a v2 problem answer ({"detail": "dataProduct: is required"})."""
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return parameter_errors(body["detail"])
    if isinstance(body, dict) and isinstance(body.get("error_description"), str):
        return {"non_field_errors": [body["error_description"]]}
    return {}


def same_geometry(a: Any, b: Any, tolerance: float = 1e-6) -> bool:
    """Whether two GeoJSON geometries are the same shape (coordinates equal within `tolerance`)."""
    return geometries_match(a, b, tolerance)


def request_geometries(request: Mapping[str, Any]) -> List[Any]:
    """The geometry of each order a POST /v2/orders body makes: each feature's, else params.geometry."""
    collection = request.get("featureCollection")
    if isinstance(collection, dict):
        return [f.get("geometry") for f in collection.get("features") or () if isinstance(f, dict)]
    params = request.get("params") or {}
    return [params.get("geometry")] if isinstance(params, dict) and "geometry" in params else []


def request_name(request: Mapping[str, Any]) -> Optional[str]:
    params = request.get("params") or {}
    return request.get("displayName") or (params.get("displayName") if isinstance(params, dict) else None)


class Up42Client:
    """UP42's tasking API for one user (user name and password, from QgsAuthManager), typed.

    The token comes from the password grant and is renewed `refresh_margin` seconds before it expires (by
    `clock`, the wall clock: the service counts `expires_in` on its own), and once more after a 401, which
    a token revoked early gets; the workspace is the one userinfo names. `timeout`, `max_retries`, `sleep`,
    `on_wait` as for the Planet clients (core.http.HttpTransport). One client per thread: a QgsTask makes its
    own; a client may log in on its first request, so never call it on the GUI thread.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        auth_url: Optional[str] = None,
        session: Optional[requests.Session] = None,
        timeout: Optional[float] = None,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = REFRESH_MARGIN,
        on_wait: Optional[Callable[[float, str], Any]] = None,
    ):
        if not (username or "").strip() or not password:
            raise ValueError("UP42 needs a user name and a password")
        base_url = base_url or DEFAULT_BASE_URL
        if auth_url is None:
            # The real service logs in on its own host; the sandbox (any other base URL) serves both.
            auth_url = DEFAULT_AUTH_URL if base_url.rstrip("/") == DEFAULT_BASE_URL.rstrip("/") else base_url
        check_url_has_no_credentials(auth_url)
        self.auth_url = auth_url if auth_url.endswith("/") else auth_url + "/"
        self._username = username.strip()
        self._password = password
        register_secret(password)
        self._owns_session = session is None
        session = session if session is not None else create_session()
        self.transport = HttpTransport(
            base_url, None, session=session, timeout=timeout, max_retries=max_retries, sleep=sleep,
            service="UP42", auth=BearerTokenAuth(self._fresh_token),
        )
        self.transport.on_wait = on_wait
        self.clock = clock
        self.refresh_margin = float(refresh_margin)
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._expires_at = 0.0
        self._workspace_id: Optional[str] = None
        self.logins = 0  # how many times a token was fetched (tests and the log read it)

    def __repr__(self) -> str:
        return f"Up42Client(base_url={self.transport.base_url!r}, user={self._username!r}, password=***)"

    def close(self) -> None:
        if self._owns_session:
            self.transport.session.close()

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def on_wait(self) -> Optional[Callable[[float, str], Any]]:
        """Told `(seconds, why)` before each wait (a 429/5xx or a network failure asked again): a task hands
        it on so the form can say "UP42 has not answered yet; asking again in N s" meanwhile."""
        return self.transport.on_wait

    @on_wait.setter
    def on_wait(self, hook: Optional[Callable[[float, str], Any]]) -> None:
        self.transport.on_wait = hook

    # -- login ---------------------------------------------------------------------------------

    def _fresh_token(self) -> str:
        """The token, fetched again when there is none or it expires within `refresh_margin` seconds."""
        with self._lock:
            if self._token is None or self.clock() >= self._expires_at - self.refresh_margin:
                self._login()
            assert self._token is not None
            return self._token

    def _forget_token(self) -> None:
        with self._lock:
            self._token = None

    def _login(self) -> None:
        form = {"grant_type": "password", "username": self._username, "password": self._password,
                "client_id": CLIENT_ID, "scope": "openid"}
        data = self._auth_call("POST", TOKEN_PATH, data=form)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise MalformedResponseError("UP42's login answer carried no access token.", method="POST",
                                         url=self.auth_url + TOKEN_PATH)
        register_secret(token)
        try:
            lifetime = float(data.get("expires_in") or 300)
        except (TypeError, ValueError):
            lifetime = 300.0
        self._token = token
        self._expires_at = self.clock() + lifetime
        self.logins += 1
        LOGGER.debug("UP42 login as %s: token valid for %.0f s", self._username, lifetime)

    def _auth_call(self, method: str, path: str, *, data: Any = None, token: Optional[str] = None) -> Any:
        """One request to the login realm (which answers OAuth errors, not problem details), with the
        transport's back-off on a network failure, a 429 or a 5xx: logging in changes nothing, so it may be
        sent again."""
        url = urljoin(self.auth_url, path)
        transport = self.transport
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        attempt = 0
        while True:
            try:
                response = transport.session.request(method, url, data=data, headers=headers, timeout=transport.timeout)
            except requests.RequestException as exc:
                error: ApiError = NetworkError(
                    f"Could not reach UP42's login service ({type(exc).__name__}). Check the network connection "
                    "and QGIS's proxy settings.", method=method, url=url)
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        error = MalformedResponseError("UP42's login service sent an answer that could not be read.",
                                                       status=200, method=method, url=url)
                elif response.status_code in (400, 401, 403):
                    try:
                        body = response.json()
                    except ValueError:
                        body = response.text[:300]
                    raise AuthenticationError(
                        "UP42 refused the user name or password (HTTP "
                        f"{response.status_code}). Check the UP42 credentials in the plugin's settings.",
                        status=response.status_code, body=body, method=method, url=url)
                else:
                    error = ApiError(f"UP42's login service answered HTTP {response.status_code}.",
                                     status=response.status_code, method=method, url=url)
                    # Kept on the error for the wait below (429, and 503 for maintenance, carry it).
                    error.retry_after = parse_retry_after(response.headers.get("Retry-After"))  # type: ignore[attr-defined]
                    if response.status_code not in (429, 500, 502, 503, 504):
                        raise error
            if attempt >= transport.max_retries:
                raise error
            retry_after = retry_after_of(error)
            if retry_after is not None and retry_after > transport.max_retry_after:
                raise transport.asked_too_long(error)
            transport.pause(transport.backoff_delay(attempt, retry_after), f"logging in to UP42: {error.message}",
                            asked=retry_after is not None)
            attempt += 1

    @property
    def workspace_id(self) -> str:
        """The user's workspace, as userinfo names it (`sub`); asked once."""
        if self._workspace_id is None:
            data = self._auth_call("GET", USERINFO_PATH, token=self._fresh_token())
            workspace = data.get("sub") if isinstance(data, dict) else None
            if not workspace:
                raise MalformedResponseError("UP42's userinfo answer named no workspace.", method="GET",
                                             url=self.auth_url + USERINFO_PATH)
            self._workspace_id = str(workspace)
        return self._workspace_id

    # -- one request, with the token renewed after a 401 ----------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The transport's request; after a 401 the token is fetched again and the request sent once more
        (a 401 is a refusal before anything was done, so even a create may be sent again). A v2 validation
        problem becomes a ValidationError keyed by parameter."""
        for attempt in (0, 1):
            try:
                return self.transport.request(method, path, **kwargs).data
            except AuthenticationError as error:
                if error.status != 401 or attempt:
                    raise
                LOGGER.info("UP42 refused the token (HTTP 401); logging in again")
                self._forget_token()
            except ValidationError as error:
                fields = _problem_field_errors(error.body)
                if fields:
                    error.field_errors = fields
                    error.message = "UP42 refused the request: " + "; ".join(
                        f"{name}: {' '.join(messages)}" for name, messages in fields.items())
                    error.args = (error.message,)
                raise
        raise AssertionError("unreachable")

    # -- glossary and schemas ------------------------------------------------------------------

    def data_products(self, *, tasking_only: bool = True) -> List[DataProduct]:
        """The glossary's data products (GET /v2/collections, every page); by default the tasking ones."""
        products: List[DataProduct] = []
        for collection in self._iter_content("v2/collections", {}):
            products += DataProduct.from_collection(collection)
        return [p for p in products if p.is_tasking or not tasking_only]

    def schema(self, data_product_id: str) -> Dict[str, Any]:
        """The JSON Schema of a data product's order parameters (GET /orders/schema/{id}, no /v2)."""
        data = self._request("GET", f"orders/schema/{path_id(data_product_id)}")
        if not isinstance(data, dict):
            raise MalformedResponseError("UP42 sent a schema that is not a JSON object.", method="GET")
        return data

    # -- estimate and create -------------------------------------------------------------------

    def estimate(self, request: Mapping[str, Any]) -> Estimate:
        """The price in credits (POST /v2/orders/estimate); it only computes, so it is retried like a read.
        Refused orders are in `errors` (the caller shows them at their fields)."""
        data = self._request("POST", "v2/orders/estimate", json_body=dict(request), safe=True)
        if not isinstance(data, dict):
            raise MalformedResponseError("UP42 sent an estimate that is not a JSON object.", method="POST")
        return Estimate.from_json(data)

    def preview_pricing(self, payload: Mapping[str, Any]) -> Estimate:
        """The price before placing (the registry's QUOTE capability): the estimate of `payload`."""
        return self.estimate(payload)

    def place(self, request: Mapping[str, Any], *, is_canceled: Any = None) -> Placement:
        """POST /v2/orders?workspaceId=: one order per feature (or params.geometry); never sent twice.

        UP42 takes no client-chosen id, so after an ambiguous failure (the connection dropped after
        sending, a 429 or 5xx, an unreadable answer) the workspace's newest orders are read: orders not there
        before, with the request's name, product and a feature's geometry, are the ones it made. All found:
        they are the answer. None, and the service had finished with the request (it answered, however
        badly): sent again. Some, or a read timeout or a 504 (the service may still be making them): nothing
        is sent again, and OrderCreationUncertain says so.
        """
        body = dict(request)
        name = request_name(body)
        geometries = request_geometries(body)
        window = min(MAX_PAGE_SIZE, len(geometries) + RECONCILE_MARGIN)
        known = self._recent_order_ids(window)
        attempt = 0
        while True:
            try:
                data = self._request("POST", "v2/orders", params={"workspaceId": self.workspace_id},
                                     json_body=body, safe=False, ok_statuses=(200, 201))
            except ApiError as error:
                if not error.maybe_processed:
                    raise
                found = self._reconcile(error, body, name, geometries, known, attempt, window)
                if found is not None:
                    return found
                attempt += 1
                LOGGER.warning("order %r was not made by the failed request; sending it again", name)
                continue
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise OrderCreationUncertain(
                    "UP42's answer to the order could not be read, so it is not known which orders were made. "
                    "Check the order list before sending it again.", body=data, method="POST")
            return Placement.from_json(data)

    def _reconcile(self, error: ApiError, body: Mapping[str, Any], name: Optional[str], geometries: List[Any],
                   known: set, attempt: int, window: int) -> Optional[Placement]:
        transport = self.transport
        if transport.asks_too_long(error):
            raise transport.asked_too_long(error)
        transport.wait_to_send_again(error, attempt, f"before looking up order {name!r}: {error.message}")

        try:
            made = self._orders_like(body, name, geometries, known, window)
        except ApiError as lookup_error:
            raise OrderCreationUncertain(
                f"The connection failed while order {name!r} was being sent, and looking it up failed too "
                f"({lookup_error.message}). Check the order list before sending it again.",
                method="POST") from lookup_error
        if made and len(made) == len(geometries):
            LOGGER.info("order %r was made although its answer was lost; not sending it again", name)
            return Placement(ids=made)
        if made:
            raise OrderCreationUncertain(
                f"The connection failed while order {name!r} was being sent; {len(made)} of its "
                f"{len(geometries)} orders are there. Check the order list; nothing more was sent.",
                candidates=list(made.values()), method="POST")
        if may_still_be_running(error):
            raise OrderCreationUncertain(
                f"UP42 did not answer in time while order {name!r} was being sent, and it is not in the order "
                "list yet: it may still be made. Check the order list before sending it again.",
                status=error.status, method="POST", url=error.url) from error
        if attempt >= transport.max_retries:
            raise error
        return None

    def _recent_order_ids(self, window: int) -> set:
        page = self.list_orders(page=0, size=window)
        return {o.id for o in page.results}

    def _orders_like(self, body: Mapping[str, Any], name: Optional[str], geometries: List[Any],
                     known: set, window: int) -> Dict[int, str]:
        """index -> id of the new orders (not in `known`) that match the request's name, product and geometry."""
        page = self.list_orders(page=0, size=window)
        made: Dict[int, str] = {}
        for order in page.results:
            if order.id in known or order.name != name or order.data_product_id != body.get("dataProduct"):
                continue
            for index, geometry in enumerate(geometries):
                if index not in made and same_geometry(order.geometry, geometry):
                    made[index] = order.id
                    break
        return made

    def create_order(self, request: Mapping[str, Any], *, is_canceled: Any = None) -> Order:
        """Place one order (one geometry) and read it back; its refusal is an OrderParametersRefused keyed by
        parameter path."""
        placement = self.place(request, is_canceled=is_canceled)
        if placement.errors and not placement.ids:
            raise OrderParametersRefused(placement.errors, status=200, method="POST")
        if len(placement.ids) != 1:
            raise ValueError("create_order places one order; use place() for several geometries")
        return self.get_order(next(iter(placement.ids.values())))

    # -- orders --------------------------------------------------------------------------------

    def get_order(self, order_id: str) -> Order:
        return Order.from_json(self._request("GET", f"v2/orders/{path_id(order_id)}"))

    def list_orders(self, *, page: int = 0, size: int = 50, status: Optional[Sequence[str]] = None,
                    sub_status: Optional[Sequence[str]] = None, order_ids: Optional[Sequence[str]] = None,
                    type: Optional[str] = "TASKING", sort: str = "createdAt,desc", **extra: Any) -> Page:
        """One page of this workspace's orders (GET /v2/orders, pages from 0), newest first by default."""
        params: Dict[str, Any] = {"page": page, "size": size, "sort": sort, "workspaceId": self.workspace_id}
        if status:
            params["status"] = list(status)
        if sub_status:
            params["subStatus"] = list(sub_status)
        if order_ids:
            params["orderId"] = list(order_ids)
        if type:
            params["type"] = type
        params.update({k: v for k, v in extra.items() if v is not None})
        return self._page("v2/orders", params, Order.from_json)

    def iter_orders(self, **params: Any) -> Iterator[Order]:
        """Every order the filters select, page after page until `totalPages`."""
        params.pop("page", None)
        number = 0
        while True:
            page = self.list_orders(page=number, **params)
            yield from page.results
            if page.is_last or not page.results:
                return
            number += 1

    def cancel_order(self, order_id: str, *, accept_cancellation_charge: bool = False) -> None:
        """POST /v2/orders/{id}/cancellation (only before placement starts; 409 after). Cancelling twice
        changes nothing, so it is retried like a read; a 409 for an order already CANCELED (an earlier try
        whose answer was lost) is the success it stands for. UP42 charges no cancellation, so the charge
        flag changes nothing."""
        path = f"v2/orders/{path_id(order_id)}"
        try:
            self._request("POST", path + "/cancellation", safe=True)
        except ConflictError:
            if self.get_order(order_id).status != "CANCELED":
                raise

    def _page(self, path: str, params: Mapping[str, Any], build: Callable[[Dict[str, Any]], Any]) -> Page:
        data = self._request("GET", path, params=params)
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise MalformedResponseError(f"UP42 sent a page without content for GET /{path}.", method="GET")
        return Page(results=[build(item) for item in data["content"]], count=optional_int(data.get("totalElements")),
                    number=int(data.get("number", params.get("page", 0)) or 0),
                    total_pages=max(1, int(data.get("totalPages") or 1)))

    def _iter_content(self, path: str, params: Mapping[str, Any]) -> Iterator[Dict[str, Any]]:
        number = 0
        while True:
            page = self._page(path, dict(params, page=number), lambda item: item)
            yield from page.results
            if page.is_last or not page.results:
                return
            number += 1

    # -- feasibility studies and quotations ------------------------------------------------------

    def feasibility_studies(self, order_id: Optional[str] = None, **filters: Any) -> List[FeasibilityStudy]:
        params = dict(filters, workspaceId=self.workspace_id)
        if order_id:
            params["orderId"] = order_id
        return [FeasibilityStudy.from_json(i) for i in self._iter_content("v2/tasking/feasibility-studies", params)]

    def accept_feasibility_option(self, study_id: str, option_id: str) -> FeasibilityStudy:
        """PATCH /v2/tasking/feasibility-studies/{id} {"acceptedOptionId"}. A lost answer is settled by reading
        the study: accepted with this option is the answer; a 409 for this same option means it was done."""
        path = f"v2/tasking/feasibility-studies/{path_id(study_id)}"
        try:
            return FeasibilityStudy.from_json(self._request("PATCH", path, json_body={"acceptedOptionId": option_id}))
        except ApiError as error:
            if not (isinstance(error, ConflictError) or error.maybe_processed):
                raise
            study = FeasibilityStudy.from_json(self._request("GET", path))
            if study.decision == "ACCEPTED" and study.decision_option_id == option_id:
                return study
            raise

    def quotations(self, order_id: Optional[str] = None, **filters: Any) -> List[Quotation]:
        params = dict(filters, workspaceId=self.workspace_id)
        if order_id:
            params["orderId"] = order_id
        return [Quotation.from_json(i) for i in self._iter_content("v2/tasking/quotation", params)]

    def decide_quotation(self, quotation_id: str, decision: str) -> Quotation:
        """PATCH /v2/tasking/quotation/{id} {"decision": ACCEPTED|REJECTED}; a lost answer is settled by
        reading the quotation (decided as asked: that is the answer)."""
        if decision not in QUOTATION_DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(QUOTATION_DECISIONS)}")
        path = f"v2/tasking/quotation/{path_id(quotation_id)}"
        try:
            return Quotation.from_json(self._request("PATCH", path, json_body={"decision": decision}))
        except ApiError as error:
            if not (isinstance(error, ConflictError) or error.maybe_processed):
                raise
            quotation = Quotation.from_json(self._request("GET", path))
            if quotation.decision == decision:
                return quotation
            raise
