"""Client for the Planet Orders API v2: create without doubling, poll, page, cancel, download and verify."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Set, Union
from urllib.parse import urlsplit, urlunsplit

import requests

from ...errors import (
    ApiError,
    AuthenticationError,
    Cancelled,
    ConflictError,
    MalformedResponseError,
    NetworkError,
    OrderCreationUncertain,
    ServiceError,
    ValidationError,
)
from ...http import LOOKUP_PATIENCE, HttpTransport, created_by_lost_create, may_still_be_running, path_id
from ...log import RedactingFilter, get_logger
from ...polling import poll_until
from .models import ArchiveOrder, OrderRequest, OrderResult

LOGGER = get_logger("planet_orders")
LOGGER.addFilter(RedactingFilter())

DEFAULT_BASE_URL = "https://api.planet.com/compute/ops/"
SERVICE = "The Planet orders service"
CHUNK = 256 << 10  # bytes read per step of a download: memory stays flat whatever the file's size, and a
# cut connection loses at most this much of what had arrived (urllib3 2 drops a chunk it could not fill)
MAX_LINK_REFRESHES = 3  # fresh links asked for per file before an expired link is reported
PART_SUFFIX = ".part"

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]


class OrderNotCancellable(ConflictError):
    """The service refused a cancel: only queued orders can be cancelled."""

    default_message = "Only queued orders can be cancelled."


class OrderNotDelivered(ServiceError):
    """An order that has no files to download (failed, cancelled, delivered to the cloud, or unfinished)."""


class DownloadIncomplete(NetworkError):
    """A file did not arrive whole (fewer bytes than announced) after every retry; its .part is kept."""


class ChecksumMismatch(ServiceError):
    """A downloaded file's digest differs from the order's manifest, even after a fresh download."""


def base_url_of(url: str) -> str:
    """The API root `<host>/compute/ops/` from either it or the orders endpoint (`.../orders/v2/`)."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    if path.endswith("/orders/v2"):
        path = path[: -len("/orders/v2")]
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def orders_field_errors(body: Any) -> Dict[str, List[str]]:
    """The Orders API's error shape `{"field": {name: [{"message"}]}, "general": [{"message"}]}` as
    {name: [text], "non_field_errors": [general text]}."""
    errors: Dict[str, List[str]] = {}
    if not isinstance(body, Mapping):
        return errors
    fields = body.get("field")
    if isinstance(fields, Mapping):
        for name, items in fields.items():
            errors[str(name)] = [_text(item) for item in (items if isinstance(items, list) else [items])]
    general = body.get("general")
    if isinstance(general, list) and general:
        errors["non_field_errors"] = [_text(item) for item in general]
    return errors


def _text(item: Any) -> str:
    if isinstance(item, Mapping) and "message" in item:
        return str(item["message"])
    return str(item)


def _said(body: Any) -> str:
    errors = orders_field_errors(body)
    if errors:
        general = errors.pop("non_field_errors", [])
        parts = [" ".join(general)] if general else []
        parts += [f"{name}: {' '.join(texts)}" for name, texts in errors.items()]
        return "; ".join(p for p in parts if p)
    if isinstance(body, Mapping):
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    return ""


def _retyped(error: ApiError) -> ApiError:
    """`error` with the Orders API's own messages: the transport reads the Tasking API's error shape."""
    said = _said(error.body)
    if not said:
        return error
    if isinstance(error, ValidationError):
        error.field_errors = orders_field_errors(error.body)
        error.message = f"{SERVICE} refused the request: {said}"
    elif isinstance(error, ConflictError):
        refused = OrderNotCancellable(f"{SERVICE} refused: {said}", status=error.status, body=error.body,
                                      method=error.method, url=error.url)
        return refused
    else:
        error.message = f"{error.message.split(' The service said:')[0]} The service said: {said}"
    error.args = (error.message,)
    return error


DIGESTS = ("sha256", "md5")  # the manifest's digests a download is checked against, one per file


@functools.lru_cache(maxsize=None)
def _fastest_digest() -> str:
    """The digest this machine works out fastest: sha256 is 2.4x faster than md5 where the CPU has SHA
    instructions (most since 2017-2019) and about 1.5x slower where it has not; hashing is most of what
    verifying a big download costs. Timed once per process on 1 MB (a few milliseconds)."""
    sample = bytes(1 << 20)
    timings = {}
    for name in DIGESTS:
        started = time.perf_counter()
        hashlib.new(name, sample).hexdigest()
        timings[name] = time.perf_counter() - started
    return min(DIGESTS, key=timings.__getitem__)


def _file_digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class _DigestAside:
    """The digest of a file as it is written, worked out on a thread of its own: verifying then needs no
    second read of the file, and the hashing (hashlib lets go of the GIL) overlaps the receiving and writing
    of the next chunks instead of adding to them. `prefix` is what a resumed .part already holds: (path, bytes)."""

    def __init__(self, algorithm: str, prefix: Optional[tuple] = None):
        self._digest = hashlib.new(algorithm)
        self._chunks: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=16)  # 4 MB behind at most
        self._thread = threading.Thread(target=self._run, args=(prefix,), name="digest-aside", daemon=True)
        self._thread.start()

    def _run(self, prefix: Optional[tuple]) -> None:
        digest: Any = self._digest
        try:
            if prefix is not None:
                path, length = prefix
                with open(path, "rb") as stream:
                    while length > 0:
                        block = stream.read(min(CHUNK, length))
                        if not block:
                            break
                        digest.update(block)
                        length -= len(block)
        except OSError:
            digest = self._digest = None  # no digest here: the file is read once it is whole instead
        # The queue is always drained to its end, so that the writer never waits on a full queue.
        for chunk in iter(self._chunks.get, None):
            if digest is not None:
                digest.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._chunks.put(chunk)

    def hexdigest(self) -> Optional[str]:
        """The digest of all that was written (None when the resumed part could not be read)."""
        self._chunks.put(None)
        self._thread.join()
        return self._digest.hexdigest() if self._digest is not None else None


@dataclass
class DownloadReport:
    """What download_results did: the files in place, how many were checked against the manifest,
    resumed from a partial file, or skipped because a verified copy was already there."""

    folder: Path
    files: List[Path] = field(default_factory=list)
    verified: int = 0
    resumed: int = 0
    skipped: int = 0
    refreshed_links: int = 0


class OrdersClient:
    """The Planet Orders API v2, typed. `base_url` is the API root (`.../compute/ops/`) or the orders
    endpoint (`.../compute/ops/orders/v2/`); `sleep` is what every wait calls (tests pass the sandbox's
    clock); `lookup_patience` is how long a create that timed out is looked for. One client per thread."""

    def __init__(self, base_url: str, api_key: str, *, session: Optional[requests.Session] = None,
                 timeout: Optional[float] = None, max_retries: int = 4, sleep: Callable[[float], None] = time.sleep,
                 lookup_patience: float = LOOKUP_PATIENCE, on_wait: Optional[Callable[[float, str], Any]] = None):
        self.transport = HttpTransport(base_url_of(base_url), api_key, session=session, timeout=timeout,
                                       max_retries=max_retries, sleep=sleep, service=SERVICE)
        self.transport.on_wait = on_wait
        self.lookup_patience = float(lookup_patience)

    def __repr__(self) -> str:
        return f"OrdersClient(base_url={self.transport.base_url!r}, key=***)"

    def close(self) -> None:
        self.transport.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.transport.request(method, path, **kwargs)
        except ApiError as error:
            raise _retyped(error) from None

    # -- orders ----------------------------------------------------------------------------------

    def get_order(self, order_id: str) -> ArchiveOrder:
        """The order as it is now, with fresh download links once finished (GET orders/v2/{id})."""
        return ArchiveOrder.from_json(self._request("GET", f"orders/v2/{path_id(order_id, 'an order id')}").data)

    def iter_orders(self, *, state: Union[str, List[str], None] = None, source_type: Optional[str] = None,
                    created_on: Optional[str] = None, last_modified: Optional[str] = None,
                    sort_by: Optional[str] = None, page_size: Optional[int] = None,
                    is_canceled: IsCanceled = None) -> Iterator[ArchiveOrder]:
        """Every order matching, page after page, following `_links.next` until a page has none.
        `created_on`/`last_modified` are intervals "a/b", "../b", "a/.."; `sort_by` e.g. "name ASC"."""
        params: Dict[str, str] = {}
        if state:
            params["state"] = state if isinstance(state, str) else ",".join(state)
        for key, value in (("source_type", source_type), ("created_on", created_on),
                           ("last_modified", last_modified), ("sort_by", sort_by)):
            if value:
                params[key] = value
        if page_size:
            params["page_size"] = str(int(page_size))
        url: Optional[str] = "orders/v2"
        query: Optional[Dict[str, str]] = params or None
        seen: Set[str] = set()
        while url:
            if is_canceled is not None and is_canceled():
                raise Cancelled("Listing the archive orders was cancelled.")
            reply = self._request("GET", url, params=query)
            page = reply.data
            if not isinstance(page, dict) or not isinstance(page.get("orders"), list):
                raise MalformedResponseError(f"{SERVICE} sent a page without a list of orders.",
                                             body=str(page)[:500], method="GET", url=reply.url)
            for item in page["orders"]:
                yield ArchiveOrder.from_json(item)
            seen.add(reply.url)
            links = page.get("_links") if isinstance(page.get("_links"), dict) else {}
            next_url = links.get("next")
            # The link keeps the filters itself; a link already followed would loop forever.
            url = self.transport.url(next_url) if next_url and page["orders"] else None
            if url in seen:
                LOGGER.warning("the orders listing links back to a page already read; stopping there")
                url = None
            query = None

    def stats(self) -> Dict[str, Any]:
        """Queue depth: {"organization": {"queued_orders", "running_orders"}, "user": {...}}."""
        return dict(self._request("GET", "stats/orders/v2").data or {})

    def cancel_order(self, order_id: str, *, accept_cancellation_charge: bool = False) -> ArchiveOrder:
        """Cancel a queued order (PUT); OrderNotCancellable, with the service's reason, for any other.
        (`accept_cancellation_charge` is the Cancelling Protocol's: cancelling an archive order costs nothing.)

        PUT is retried by the transport; a retry of a cancel that was done but whose answer was lost
        is refused as "it is cancelled", which is what was asked, so it is read and returned."""
        try:
            return ArchiveOrder.from_json(self._request("PUT", f"orders/v2/{path_id(order_id, 'an order id')}").data)
        except OrderNotCancellable:
            current = self.get_order(order_id)
            if current.state == "cancelled":
                return current
            raise

    def bulk_cancel(self, order_ids: Optional[List[str]] = None) -> Dict[str, Any]:
        """Cancel the given orders, or every queued one with None; the service's succeeded/failed counts."""
        body = {"order_ids": list(order_ids)} if order_ids is not None else {}
        # Cancelling twice changes nothing (a cancelled order is simply refused again): safe to retry.
        return dict(self._request("POST", "bulk/orders/v2/cancel", json_body=body, safe=True).data or {})

    # -- create ------------------------------------------------------------------------------------

    def create_order(self, request: Union[OrderRequest, Mapping[str, Any]], *,
                     is_canceled: IsCanceled = None) -> ArchiveOrder:
        """Place one order (POST orders/v2, 202) and never place it twice.

        The API takes no client-chosen id or idempotency key, so a create whose answer is lost (dropped
        connection after sending, read timeout, 429/5xx, an unreadable body) is reconciled by listing:
        before sending, the newest order's `created_on` (the service's own clock) and the ids created
        at that instant are noted; afterwards the orders created since are listed and a new one with the
        same name and products is the order sent. A failure after which the service has finished with the
        request (it answered, or closed the connection) needs one look: found → returned; absent → sent
        again. After a timeout or a 504 the service may still be making it, so it is looked for with
        back-off for `lookup_patience` seconds and then OrderCreationUncertain is raised: never re-sent.
        """
        body = request.to_json() if isinstance(request, OrderRequest) else dict(request)
        since, known = self._newest_orders()
        attempt = 0
        while True:
            try:
                reply = self._request("POST", "orders/v2", json_body=body, safe=False, ok_statuses=(200, 201, 202))
                return ArchiveOrder.from_json(reply.data)
            except ApiError as error:
                if not error.maybe_processed:
                    raise
                found = self._after_ambiguous_create(error, attempt, body, since, known, is_canceled)
                if found is not None:
                    LOGGER.info("archive order %s was created although its answer was lost; not sending it again",
                                found.id)
                    return found
                attempt += 1
                LOGGER.warning("archive order %r was not created by the failed request; sending it again",
                               body.get("name"))

    def newest_created_on(self) -> Optional[str]:
        """The creation time of the account's newest order, as the service wrote it (None when it has none)."""
        newest = next(self.iter_orders(sort_by="created_on DESC", page_size=1), None)
        return None if newest is None or newest.created_on is None else newest.raw.get("created_on")

    def look_alikes_since(self, body: Mapping[str, Any], since: Optional[str],
                          known: Set[str] = frozenset()) -> List[ArchiveOrder]:
        """Orders created since `since` (all when None), other than `known`, with the name and products of a
        create body, newest first: what a create whose answer was lost may have made."""
        return [o for o in self.iter_orders(created_on=f"{since}/.." if since else None, sort_by="created_on DESC",
                                            page_size=500)
                if o.id not in known and o.name == body.get("name") and o.same_products(body.get("products") or [])]

    def _newest_orders(self):
        since = self.newest_created_on()
        if since is None:
            return None, set()
        return since, {o.id for o in self.iter_orders(created_on=f"{since}/..", page_size=500)}

    def _created_match(self, body: Mapping[str, Any], since: Optional[str], known: Set[str]) -> Optional[ArchiveOrder]:
        return created_by_lost_create(lambda: self.look_alikes_since(body, since, known),
                                      f"archive order {body.get('name')!r}", "products")

    def _after_ambiguous_create(self, error: ApiError, attempt: int, body: Mapping[str, Any],
                                since: Optional[str], known: Set[str], is_canceled: IsCanceled) -> Optional[ArchiveOrder]:
        transport = self.transport
        what = f"archive order {body.get('name')!r}"
        if transport.asks_too_long(error):
            found = self._created_match(body, since, known)
            if found is not None:
                return found
            raise transport.asked_too_long(error)
        transport.wait_to_send_again(error, attempt, f"before looking up {what}: {error.message}")
        if not may_still_be_running(error):
            found = self._created_match(body, since, known)
        else:
            found = self._look_until_found(error, body, since, known, what, is_canceled)
        if found is not None:
            return found
        if is_canceled is not None and is_canceled():
            raise Cancelled(f"Cancelled: {what} was not created, and it was not sent again.")
        if attempt >= transport.max_retries:
            raise error
        return None

    def _look_until_found(self, error: ApiError, body: Mapping[str, Any], since: Optional[str], known: Set[str],
                          what: str, is_canceled: IsCanceled) -> ArchiveOrder:
        started = time.monotonic()
        looks = 0
        while True:
            found = self._created_match(body, since, known)
            looks += 1
            if found is not None:
                return found
            waited = time.monotonic() - started
            if (is_canceled is not None and is_canceled()) or waited >= self.lookup_patience:
                raise OrderCreationUncertain(
                    f"{error.message} Since then {what} was looked up {looks} times and has not appeared: the "
                    "service may still be creating it, so it was not sent again. Check the order list before "
                    "sending it again.", status=error.status, method="POST", url=error.url)
            self.transport.pause(self.transport.backoff_delay(looks),
                                 f"{what} is not listed yet; the service may still be working on it (look {looks})")

    # -- waiting -----------------------------------------------------------------------------------

    def wait_for(self, order: Union[ArchiveOrder, str], *, is_canceled: IsCanceled = None,
                 on_progress: Progress = None, poll: float = 5.0, max_poll: float = 30.0,
                 timeout: Optional[float] = None,
                 on_order: Optional[Callable[[ArchiveOrder], Any]] = None) -> ArchiveOrder:
        """Poll the order until success, partial, failed or cancelled, and return it as finished (a failed
        order is returned, not raised: its `last_message` and `error_hints` say why). `on_progress` gets
        0–100, `on_order` each state read (queued, running…); `is_canceled` stops the waiting (Cancelled),
        not the order."""
        order_id = order.id if isinstance(order, ArchiveOrder) else str(order)

        def read() -> ArchiveOrder:
            current = self.get_order(order_id)
            if on_order is not None:
                on_order(current)
            return current

        def percent(current: ArchiveOrder, waited: float) -> float:
            if current.is_finished:
                return 100.0
            return 5.0 if current.state == "queued" else min(95.0, 20.0 + waited / 10.0)

        return poll_until(read, lambda o: o.is_finished, percent=percent, poll=poll,
                          max_poll=max_poll, progress=on_progress, is_canceled=is_canceled, timeout=timeout,
                          sleep=self.transport.sleep, what=f"archive order {order_id}",
                          cancelled_note="the order goes on at the service.")

    # -- downloads ---------------------------------------------------------------------------------

    def download_results(self, order: Union[ArchiveOrder, str], folder: Union[str, Path], *,
                         is_canceled: IsCanceled = None, progress: Progress = None,
                         on_file: Optional[Callable[[int, int, str], Any]] = None) -> DownloadReport:
        """Every file of a finished order into `folder`, laid out as the order names them.

        `progress` gets 0–100 (by bytes where the manifest gives sizes), `on_file(number, count, name)` the
        file about to be fetched (manifests first).

        Each file is written to `<name>.part` and renamed only once whole and verified, so a failure or
        a cancel never leaves a short file under its final name; a later call resumes a .part with a
        `Range` request. A file is whole when its size is the announced one; it is verified against the
        order's manifest.json where the manifest lists it (sha256 or md5, whichever this machine hashes
        faster, worked out as the bytes arrive), and a mismatch (a corrupt partial file) is downloaded
        once more from scratch before ChecksumMismatch is raised. An expired link (401) is
        replaced by GETting the order again. A file already in place with the manifest's digest is kept.
        """
        current = order if isinstance(order, ArchiveOrder) else self.get_order(str(order))
        if not current.results:
            current = self.get_order(current.id)
        if not current.has_files:
            why = current.last_message or current.state
            hints = f" ({'; '.join(current.error_hints)})" if current.error_hints else ""
            raise OrderNotDelivered(f"Archive order {current.id} has no files to download: it is {current.state}"
                                    f" — {why}{hints}.")
        root = Path(folder)
        report = DownloadReport(folder=root)
        results = [r for r in current.results if r.location]
        manifests = [r for r in results if r.is_manifest]
        others = [r for r in results if not r.is_manifest]
        digests: Dict[str, Dict[str, Any]] = {}
        state = {"order": current}
        count = len(manifests) + len(others)
        for number, manifest in enumerate(manifests, start=1):
            if on_file is not None:
                on_file(number, count, manifest.name)
            path = self._fetch(manifest, root, state, report, is_canceled, None, None)
            digests.update(self._manifest_digests(manifest, path))
        total = sum(int(digests.get(r.name, {}).get("size") or 0) for r in others) or None
        done = [0]

        def advance(count: int) -> None:
            done[0] += count
            if progress is not None and total:
                progress(min(99.9, 100.0 * done[0] / total))

        for index, result in enumerate(others):
            if on_file is not None:
                on_file(len(manifests) + index + 1, count, result.name)
            expected = digests.get(result.name, {})
            self._fetch(result, root, state, report, is_canceled, expected, advance if total else None)
            if progress is not None and not total:
                progress(100.0 * (index + 1) / len(others))
        if progress is not None:
            progress(100.0)
        return report

    @staticmethod
    def _target(root: Path, name: str) -> Path:
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise MalformedResponseError(f"{SERVICE} named a result {name!r} outside the download folder.")
        return root.joinpath(*relative.parts)

    @staticmethod
    def _manifest_digests(manifest: OrderResult, path: Path) -> Dict[str, Dict[str, Any]]:
        # Manifest paths are relative to the order folder, the directory the manifest is named in.
        order_folder = PurePosixPath(manifest.name).parent
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise MalformedResponseError(f"The order's manifest.json could not be read: {error}") from None
        listed: Dict[str, Dict[str, Any]] = {}
        for entry in data.get("files") or () if isinstance(data, dict) else ():
            if isinstance(entry, dict) and entry.get("path"):
                digests = entry.get("digests") if isinstance(entry.get("digests"), dict) else {}
                listed[str(order_folder / entry["path"])] = dict({n: digests.get(n) for n in DIGESTS},
                                                                 size=entry.get("size"))
        return listed

    def _fetch(self, result: OrderResult, root: Path, state: Dict[str, ArchiveOrder], report: DownloadReport,
               is_canceled: IsCanceled, expected: Optional[Dict[str, Any]],
               advance: Optional[Callable[[int], None]]) -> Path:
        target = self._target(root, result.name)
        listed = [name for name in DIGESTS if (expected or {}).get(name)]
        # One digest is enough: the one this machine works out fastest, when the manifest gives both.
        algorithm = _fastest_digest() if _fastest_digest() in listed else (listed[0] if listed else "")
        wanted = (expected or {}).get(algorithm) if algorithm else None
        if wanted and target.exists() and _file_digest(target, algorithm) == wanted:
            report.skipped += 1
            report.files.append(target)
            if advance is not None:
                advance(target.stat().st_size)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + PART_SUFFIX)
        for fresh_start in (False, True):
            if fresh_start:
                LOGGER.warning("%s does not match the order's manifest; downloading it again from scratch",
                               result.name)
                part.unlink()
            elif part.exists():
                report.resumed += 1
            digest = self._download_whole(result, part, state, report, is_canceled, advance,
                                          algorithm if wanted else "")
            if not wanted or (digest or _file_digest(part, algorithm)) == wanted:
                break
        else:
            part.unlink()
            raise ChecksumMismatch(f"{result.name} does not match the {algorithm} the order's manifest gives, even "
                                   "after downloading it again; it was not kept.")
        if wanted:
            report.verified += 1
        os.replace(part, target)  # atomic: the final name only ever holds a whole, verified file
        report.files.append(target)
        return target

    def _download_whole(self, result: OrderResult, part: Path, state: Dict[str, ArchiveOrder],
                        report: DownloadReport, is_canceled: IsCanceled,
                        advance: Optional[Callable[[int], None]], digest: str = "") -> Optional[str]:
        """Bring `part` to the file's full size, resuming from what it holds; retries on a cut connection.
        With `digest` ("sha256", "md5"), the whole file's digest worked out on the way (None when it was not)."""
        transport = self.transport
        location = result.location
        failures = 0
        refreshes = 0
        while True:
            if is_canceled is not None and is_canceled():
                raise Cancelled(f"Downloading {result.name} was cancelled; it resumes where it stopped next time.")
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                # The links need no key and none is sent (no auth here); the session applies QGIS's proxy.
                with transport.session.get(location, headers=headers, stream=True, timeout=transport.timeout,
                                           auth=None) as response:
                    if response.status_code == 401 and refreshes < MAX_LINK_REFRESHES:
                        refreshes += 1
                        report.refreshed_links += 1
                        location = self._fresh_location(result, state)
                        continue
                    if response.status_code == 416 and have:
                        size = response.headers.get("Content-Range", "").rpartition("/")[2]
                        if size.isdigit() and int(size) == have:
                            return None  # the .part was already whole
                        part.unlink()  # longer than the file: it cannot be a prefix of it
                        continue
                    if response.status_code == 401:
                        raise AuthenticationError(
                            f"{SERVICE} kept refusing the download link of {result.name} although fresh links "
                            f"were asked for {refreshes} times; download the order again later.",
                            status=401, method="GET")
                    if response.status_code not in (200, 206):
                        raise _retyped(transport._error_from_response(response, "GET", location, True))
                    if response.status_code == 200:
                        have = 0  # the server sent the whole file, not the range
                        total = int(response.headers.get("Content-Length") or -1)
                    else:
                        total = int(response.headers.get("Content-Range", "").rpartition("/")[2] or -1)
                    hasher = _DigestAside(digest, (part, have) if have else None) if digest else None
                    try:
                        with open(part, "ab" if have else "wb") as stream:
                            for chunk in response.iter_content(CHUNK):
                                if is_canceled is not None and is_canceled():
                                    raise Cancelled(f"Downloading {result.name} was cancelled; it resumes where "
                                                    "it stopped next time.")
                                stream.write(chunk)
                                if hasher is not None:
                                    hasher.update(chunk)
                                if advance is not None:
                                    advance(len(chunk))
                    finally:
                        worked_out = hasher.hexdigest() if hasher is not None else None
                size = part.stat().st_size
                if total < 0 or size == total:
                    return worked_out
                raise requests.exceptions.ChunkedEncodingError(f"{size} of {total} bytes arrived")
            except requests.RequestException as cut:
                failures += 1
                if failures > transport.max_retries:
                    raise DownloadIncomplete(
                        f"{result.name} did not arrive whole after {failures} tries ({type(cut).__name__}); what "
                        "arrived is kept and the next download resumes from it.", method="GET",
                        url=location) from None
                transport.pause(transport.backoff_delay(failures - 1),
                                f"{result.name} was cut short; resuming from byte {part.stat().st_size if part.exists() else 0}")

    def _fresh_location(self, result: OrderResult, state: Dict[str, ArchiveOrder]) -> str:
        """A new link for `result`: the order GET again hands out links that have not expired."""
        state["order"] = self.get_order(state["order"].id)
        for fresh in state["order"].results:
            if fresh.name == result.name and fresh.location:
                LOGGER.info("the link of %s had expired; using a fresh one", result.name)
                return fresh.location
        raise AuthenticationError(f"{SERVICE} no longer offers {result.name} for download.")
