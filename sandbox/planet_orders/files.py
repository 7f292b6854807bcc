"""The files of an order's results (GeoTIFFs, item metadata, zips, manifest), made once on disk, and the
signed, expiring download links."""

from __future__ import annotations

import atexit
import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from sandbox.planet_orders.geotiff import geotiff_chunks
from sandbox.timefmt import format_time

LINK_LIFETIME = timedelta(hours=1)  # simulated time a location stays valid; a new GET of the order renews it
BLOCK = 1 << 20  # bytes read at a time when digesting or zipping a made file


@dataclass(frozen=True)
class MadeFile:
    """A result's bytes on disk, with what its download headers and the manifest say of them."""

    path: Path
    size: int
    md5: str
    sha256: str
    media_type: str


class FileSpan:
    """Bytes [start, start + length) of a file on disk, as an answer's body: the transport sends them with
    `send_to` (the kernel's sendfile), so a file of any size is served in constant memory and at disk speed."""

    def __init__(self, path: Path, start: int, length: int):
        self.path, self.start, self.length = path, start, length

    def __len__(self) -> int:
        return self.length

    def send_to(self, connection: socket.socket, limit: Optional[int] = None) -> None:
        with open(self.path, "rb") as stream:
            connection.sendfile(stream, self.start, self.length if limit is None else min(limit, self.length))

    def read(self) -> bytes:
        with open(self.path, "rb") as stream:
            stream.seek(self.start)
            return stream.read(self.length)


# Files are content-addressed (a key of the spec that makes them), so every download of a result, every
# order of the same item and bundle, and the manifest's digests share one made copy; it lives as long as
# the process (a temporary folder removed at exit).
_cache_lock = threading.Lock()
_cache_folder: Optional[Path] = None
_made: Dict[str, MadeFile] = {}
_making: Dict[str, threading.Lock] = {}


def _folder() -> Path:
    global _cache_folder
    if _cache_folder is None:
        _cache_folder = Path(tempfile.mkdtemp(prefix="sandbox-orders-files-"))
        atexit.register(shutil.rmtree, str(_cache_folder), True)
    return _cache_folder


def result_file(order_id: str, results: List[dict], index: int) -> MadeFile:
    """The `index`-th of an order's results, made on first use. Call it without the simulation's lock: a big
    raster takes a while to write the first time. `results` is the order's `_results`, which never change once
    the order has finished."""
    spec = results[index]["_file"]
    if spec["type"] == "manifest":
        key_source = {"manifest": [[r["name"], r["_file"]] for r in results], "order": order_id}
    else:
        key_source = spec
    return _made_file(hashlib.sha256(json.dumps(key_source, sort_keys=True).encode()).hexdigest(), spec,
                      order_id, results)


def _made_file(key: str, spec: dict, order_id: str, results: List[dict]) -> MadeFile:
    with _cache_lock:
        made = _made.get(key)
        if made is not None:
            return made
        making = _making.setdefault(key, threading.Lock())
        folder = _folder()
    with making:  # one thread makes a file; others asking for it at the same time wait for that copy
        with _cache_lock:
            made = _made.get(key)
        if made is not None:
            return made
        path = folder / key
        partial = folder / (key + ".making")
        with open(partial, "wb") as out:
            media_type = _write(spec, order_id, results, out)
        md5, sha256 = hashlib.md5(), hashlib.sha256()
        with open(partial, "rb") as stream:
            for block in iter(lambda: stream.read(BLOCK), b""):
                md5.update(block)
                sha256.update(block)
        os.replace(partial, path)
        made = MadeFile(path, path.stat().st_size, md5.hexdigest(), sha256.hexdigest(), media_type)
        with _cache_lock:
            _made[key] = made
        return made


def _write(spec: dict, order_id: str, results: List[dict], out) -> str:
    """Write the file `spec` describes to `out`; its media type."""
    if spec["type"] == "tif":
        _write_all(out, geotiff_chunks(tuple(spec["bounds"]), spec["width"], spec["height"], spec["bands"],
                                       spec["bits"], spec["seed"]))
        return "image/tiff"
    if spec["type"] == "metadata":
        west, south, east, north = spec["bounds"]
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        document = {"id": spec["item_id"], "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"item_type": spec["item_type"], "provider": "sandbox"}}
        out.write(json.dumps(document, indent=2).encode())
        return "application/json"
    if spec["type"] == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in spec["members"]:
                made = result_file(order_id, [member], 0)
                # A fixed date: the same order zips to the same bytes on every download (stable checksums).
                info = zipfile.ZipInfo(member["name"], date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=made.size > (1 << 31)) as entry, \
                        open(made.path, "rb") as source:
                    shutil.copyfileobj(source, entry, BLOCK)
        return "application/zip"
    entries = []
    folder = order_id + "/"
    for index, result in enumerate(results):
        if result["_file"]["type"] == "manifest":
            continue
        made = result_file(order_id, results, index)
        entries.append({"path": result["name"][len(folder):], "media_type": made.media_type, "size": made.size,
                        "digests": {"md5": made.md5, "sha256": made.sha256}})
    out.write(json.dumps({"name": "", "files": entries}, indent=2).encode())
    return "application/json"


def _write_all(out, chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        out.write(chunk)


def _secret(seed: int) -> bytes:
    return f"orders-download:{seed}".encode()


def make_token(seed: int, order_id: str, index: int, expires: datetime) -> str:
    claim = f"{order_id}:{index}:{int(expires.timestamp())}"
    signature = hmac.new(_secret(seed), claim.encode(), hashlib.sha256).hexdigest()[:32]
    return base64.urlsafe_b64encode(claim.encode()).decode().rstrip("=") + "." + signature


def read_token(seed: int, token: str, now: datetime) -> Tuple[Optional[Tuple[str, int]], str]:
    """(order id, result index) of a valid token, or None with the reason it is refused."""
    encoded, _, signature = token.partition(".")
    try:
        claim = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        order_id, index_text, expires_text = claim.split(":")
        index, expires = int(index_text), int(expires_text)
    except (ValueError, UnicodeDecodeError):
        return None, "Invalid download token."
    expected = hmac.new(_secret(seed), claim.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(expected, signature):
        return None, "Invalid download token."
    if now.timestamp() >= expires:
        return None, "Download token has expired; GET the order again for a fresh location."
    return (order_id, index), ""


def link_expiry(now: datetime) -> datetime:
    # Whole seconds, so a client that reads expires_at and the token sees the same moment.
    return (now + LINK_LIFETIME).replace(microsecond=0)


def expires_text(moment: datetime) -> str:
    return format_time(moment)
