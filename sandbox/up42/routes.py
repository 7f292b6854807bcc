"""UP42's routes at the server's root: /realms/ (login), /v2/ (glossary, orders, tasking), /orders/schema/.

UP42 has no common path prefix, so the one `Up42Api` of a simulation is mounted under three prefixes in
`server.APIS` (see `mount`); each mount hands it the full path again.
"""

from __future__ import annotations

import math
import uuid
import weakref
from functools import partial
from operator import itemgetter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl

from sandbox.accounts import Account
from sandbox.errors import ApiError
from sandbox.simulation import Simulation
from sandbox.store import public
from sandbox.up42 import catalog, demo, orders
from sandbox.up42.auth import Tokens, credentials, problem, workspace_id

Response = Tuple[int, Any, Dict[str, str]]
PAGE_SIZE = 20  # Spring Data's default page size
MAX_PAGE_SIZE = 2000  # and its largest
REALM = "realms/public/protocol/openid-connect/"

# Sortable properties of each list, and its filters: query name -> (document key, allowed values or None).
ORDER_SORT = ("createdAt", "updatedAt", "type", "status", "displayName")
QUOTATION_SORT = ("createdAt", "updatedAt", "decisionAt", "creditsPrice")
STUDY_SORT = ("createdAt", "updatedAt", "decisionAt")
COLLECTION_SORT = ("name", "title", "description", "type")


def _not_found(what: str, object_id: str) -> ApiError:
    return problem(404, "Not Found", f"{what} {object_id} not found.")


class Query:
    """A query string with repeated parameters kept, as Spring reads it (`status=A&status=B` or `status=A,B`)."""

    def __init__(self, query: str):
        self.pairs = parse_qsl(query, keep_blank_values=True)

    def values(self, name: str) -> List[str]:
        found: List[str] = []
        for key, value in self.pairs:
            if key == name:
                found += [value] if name == "sort" else value.split(",")  # a sort's comma is its direction
        return found

    def one(self, name: str) -> Optional[str]:
        values = [v for k, v in self.pairs if k == name]
        return values[-1] if values else None

    def choices(self, name: str, allowed: Sequence[str]) -> List[str]:
        values = self.values(name)
        for value in values:
            if value not in allowed:
                raise problem(400, "Bad Request", f"{name}: {value!r} is not one of {', '.join(allowed)}")
        return values

    def uuids(self, name: str) -> List[str]:
        values = self.values(name)
        for value in values:
            try:
                uuid.UUID(value)
            except ValueError:
                raise problem(400, "Bad Request", f"{name}: {value!r} is not a valid UUID") from None
        return values

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        text = self.one(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise problem(400, "Bad Request", f"{name}: {text!r} is not an integer") from None
        if not low <= value <= high:
            raise problem(400, "Bad Request", f"{name}: must be from {low} to {high}")
        return value


Check = Callable[[dict], bool]


def _one_of_checks(*filters: Tuple[Callable[[dict], Any], Sequence[Any]]) -> List[Check]:
    """A check for each list filter the query gave (a record's value, the values asked for): the record's value
    must be one of them; a filter not given checks nothing. The orders and the decision lists filter alike."""
    return [(lambda o, value=value, wanted=wanted: value(o) in wanted) for value, wanted in filters if wanted]


def paged(items: List[dict], query: Query, sortable: Sequence[str], default_sort: str) -> Dict[str, Any]:
    """Spring Data's page of `items`: sorted by every `sort=field[,asc|desc]` (the last one applied first),
    `page` from 0 and `size`; {"content", "totalPages", "totalElements", "size", "number"}."""
    sorts = query.values("sort") or [default_sort]
    for sort in reversed(sorts):
        field, _, direction = sort.partition(",")
        direction = direction.lower() or "asc"
        if field not in sortable or direction not in ("asc", "desc"):
            raise problem(400, "Bad Request", f"sort: {sort!r} is not one of {', '.join(sortable)} with ,asc or ,desc")
        present = [i for i in items if i.get(field) is not None]
        absent = [i for i in items if i.get(field) is None]
        present.sort(key=lambda i: (i[field], i.get("_seq", 0)), reverse=direction == "desc")
        items = present + absent  # nulls last, either way
    size = query.integer("size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = query.integer("page", 0, 0, 10 ** 9)
    total_pages = max(1, math.ceil(len(items) / size))
    chunk = items[page * size:(page + 1) * size]
    return {"content": [public(i) for i in chunk], "totalPages": total_pages, "totalElements": len(items),
            "size": size, "number": page}


class Up42Api:
    """Routes one UP42 request (its full path without the leading slash); called with the lock held."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.tokens = Tokens(sim)
        sim.register(orders.ORDER_KIND, partial(orders.order_event, sim))

    def handle(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str], root: str) -> Response:
        parts = [p for p in path.split("/") if p]
        q = Query(query)
        if parts[:1] == ["realms"]:
            return self._realm(method, parts, body, headers)
        account = self.tokens.account(headers.get("authorization"))
        if parts[:2] == ["orders", "schema"] and len(parts) == 3:
            self._allow(method, "GET")
            schema = catalog.schema_of(parts[2])
            if schema is None:
                raise _not_found("Data product", parts[2])
            return 200, schema, {}
        if parts[:1] != ["v2"]:
            raise problem(404, "Not Found", f"No endpoint /{path}.")
        rest = parts[1:]
        if rest == ["collections"]:
            self._allow(method, "GET")
            return 200, paged(catalog.collections_json(), q, COLLECTION_SORT, "name"), {}
        if rest[:1] == ["orders"]:
            return self._orders(method, rest[1:], q, body, account)
        if rest[:2] == ["tasking", "feasibility-studies"]:
            return self._decisions(method, rest[2:], q, body, account, orders.STUDY_KIND, "Feasibility study",
                                   STUDY_SORT, ("NOT_DECIDED", "ACCEPTED"), orders.decide_study)
        if rest[:2] == ["tasking", "quotation"]:
            return self._decisions(method, rest[2:], q, body, account, orders.QUOTATION_KIND, "Quotation",
                                   QUOTATION_SORT, ("NOT_DECIDED", "ACCEPTED", "REJECTED"), orders.decide_quotation)
        raise problem(404, "Not Found", f"No endpoint /{path}.")

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise problem(405, "Method Not Allowed", f"Request method '{method}' is not supported.",
                          {"Allow": ", ".join(allowed)})

    def _realm(self, method: str, parts: List[str], body: Any, headers: Dict[str, str]) -> Response:
        if "/".join(parts[:4]) + "/" != REALM or len(parts) != 5:
            raise ApiError(404, {"error": "Realm does not exist"} if parts[1:2] != ["public"]
                           else {"error": "RESTEASY003210: Could not find resource for full path"})
        if parts[4] == "token":
            self._allow(method, "POST")
            return self.tokens.login(body)
        if parts[4] == "userinfo":
            self._allow(method, "GET", "POST")
            try:
                account = self.tokens.account(headers.get("authorization"))
            except ApiError as error:
                raise ApiError(401, {"error": "invalid_token", "error_description": "Token verification failed"},
                               error.headers) from None
            return 200, {"sub": workspace_id(account), "email": account.created_by, "email_verified": True,
                         "preferred_username": account.created_by}, {}
        raise ApiError(404, {"error": "RESTEASY003210: Could not find resource for full path"})

    def _owned(self, kind: str, what: str, object_id: str, account: Account) -> dict:
        found = self.sim.store.get(kind, object_id)
        if found is None or found.get("_key") != account.api_key:
            raise _not_found(what, object_id)  # another workspace's objects are absent
        return found

    def _orders(self, method: str, rest: List[str], q: Query, body: Any, account: Account) -> Response:
        sim = self.sim
        if rest == ["estimate"]:
            self._allow(method, "POST")
            return 200, orders.estimate(orders.OrderRequest(body), account, sim.now()), {}
        if not rest:
            self._allow(method, "GET", "POST")
            if method == "POST":
                target = q.one("workspaceId")
                if not target:
                    raise problem(400, "Bad Request", "workspaceId: is required")
                if target != workspace_id(account):
                    raise problem(403, "Forbidden", f"workspaceId: you have no access to workspace {target}")
                return 200, orders.place(sim, orders.OrderRequest(body), account), {}
            return 200, self._list_orders(q, account), {}
        order = self._owned(orders.ORDER_KIND, "Order", rest[0], account)
        if rest[1:] == ["cancellation"]:
            self._allow(method, "POST")
            return 200, orders.cancel(sim, order), {}
        if len(rest) != 1:
            raise problem(404, "Not Found", "No such endpoint.")
        self._allow(method, "GET", "PATCH")
        if method == "PATCH":
            self._patch_order(order, body)
        return 200, public(order), {}

    def _patch_order(self, order: dict, body: Any) -> None:
        """Merge-patch of `tags` and `budgetId` (what up42-py's Order.update sends)."""
        if not isinstance(body, dict):
            raise problem(400, "Bad Request", "The request body must be a JSON object.")
        for name in body:
            if name not in ("tags", "budgetId"):
                raise problem(400, "Bad Request", f"{name}: cannot be changed")
        tags = body.get("tags", order["tags"])
        if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
            raise problem(400, "Bad Request", "tags: must be a list of strings")
        order["tags"] = tags
        order["budgetId"] = body.get("budgetId", order["budgetId"])
        order["updatedAt"] = orders.format_time(self.sim.now())
        self.sim.store.touch(orders.ORDER_KIND, order)

    def _list_orders(self, q: Query, account: Account) -> Dict[str, Any]:
        statuses = q.choices("status", orders.STATUSES)
        sub_statuses = q.choices("subStatus", orders.SUB_STATUSES)
        types = q.choices("type", ("TASKING", "ARCHIVE"))
        ids = q.uuids("orderId") + q.uuids("orderIds") + q.uuids("id")
        workspaces = q.values("workspaceId")
        name = (q.one("displayName") or "").lower()
        tags = q.values("tags")
        checks = _one_of_checks((itemgetter("status"), statuses),
                               (lambda o: o["orderDetails"]["subStatus"], sub_statuses),
                               (itemgetter("type"), types), (itemgetter("id"), ids),
                               (itemgetter("workspaceId"), workspaces))
        if name:
            checks.append(lambda o: name in o["displayName"].lower())
        if tags:
            checks.append(lambda o: bool(set(o["tags"] or ()) & set(tags)))
        found = self._mine(orders.ORDER_KIND, account, checks)
        return paged(found, q, ORDER_SORT, "createdAt,desc")

    def _mine(self, kind: str, account: Account, checks: Iterable[Callable[[dict], bool]]) -> List[dict]:
        checks = list(checks)
        return [o for o in self.sim.store.all(kind) if o["_key"] == account.api_key and all(c(o) for c in checks)]

    def _decisions(self, method: str, rest: List[str], q: Query, body: Any, account: Account, kind: str, what: str,
                   sortable: Sequence[str], decisions: Sequence[str],
                   decide: Callable[[Simulation, dict, Any], dict]) -> Response:
        """Feasibility studies and quotations: a filtered list, one by id, and the decision (PATCH)."""
        if not rest:
            self._allow(method, "GET")
            chosen = q.choices("decision", decisions)
            ids, order_ids, workspaces = q.uuids("id"), q.uuids("orderId"), q.values("workspaceId")
            checks = _one_of_checks((itemgetter("decision"), chosen), (itemgetter("id"), ids),
                                   (itemgetter("orderId"), order_ids), (itemgetter("workspaceId"), workspaces))
            return 200, paged(self._mine(kind, account, checks), q, sortable, "createdAt,desc"), {}
        if len(rest) != 1:
            raise problem(404, "Not Found", "No such endpoint.")
        found = self._owned(kind, what, rest[0], account)
        self._allow(method, "GET", "PATCH")
        if method == "PATCH":
            found = decide(self.sim, found, body)
        return 200, public(found), {}

    def seed_demo(self) -> int:
        return demo.seed_demo(self.sim)

    def control(self, method: str, parts: List[str], body: Any) -> Optional[Tuple[int, Any]]:
        """/sandbox/up42/...: accounts (the credentials each key logs in with), token lifetime, expire tokens."""
        if parts[:1] != ["up42"]:
            return None
        sim = self.sim
        with sim.lock:
            if parts == ["up42", "accounts"] and method == "GET":
                return 200, {"accounts": [credentials(a) for a in sim.accounts.values()]}
            if parts == ["up42", "token-lifetime"]:
                if method == "POST":
                    seconds = (body or {}).get("seconds")
                    if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= 86400:
                        return 400, {"seconds": ["An integer from 1 to 86400."]}
                    self.tokens.set_setting("token-lifetime", seconds)
                    sim.store.commit()
                return 200, {"seconds": self.tokens.lifetime}
            if parts == ["up42", "tokens", "expire"] and method == "POST":
                self.tokens.expire_all()
                sim.store.commit()
                return 200, {"expired": True}
        return None


_SHARED: "weakref.WeakKeyDictionary[Simulation, Up42Api]" = weakref.WeakKeyDictionary()


def shared(sim: Simulation) -> Up42Api:
    """The one Up42Api of a simulation, whichever of its prefixes asks first."""
    api = _SHARED.get(sim)
    if api is None:
        api = _SHARED[sim] = Up42Api(sim)
    return api


class Mount:
    """UP42 under one of its root prefixes: gives the shared Up42Api the path with the prefix put back."""

    def __init__(self, prefix: str, api: Up42Api):
        self.prefix = prefix.strip("/") + "/"
        self.api = api

    def handle(self, method: str, path: str, query: str, body: Any, headers: Dict[str, str], root: str) -> Response:
        return self.api.handle(method, self.prefix + path, query, body, headers, root)


class ControlMount(Mount):
    """The mount that also answers UP42's /sandbox/up42/ control endpoints and `--demo` (one does, not all three)."""

    def control(self, method: str, parts: List[str], body: Any) -> Optional[Tuple[int, Any]]:
        return self.api.control(method, parts, body)

    def seed_demo(self) -> int:
        return self.api.seed_demo()


def mount(prefix: str, *, control: bool = False) -> Callable[[Simulation], Mount]:
    """A factory for `server.APIS`: UP42 under `prefix` ("/v2/"), sharing one Up42Api per simulation."""
    kind = ControlMount if control else Mount
    return lambda sim: kind(prefix, shared(sim))
