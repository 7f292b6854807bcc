"""The bytes of an order's results (GeoTIFFs, item metadata, manifest) and the signed, expiring download links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Optional, Tuple

from sandbox.planet_orders.geotiff import write_geotiff
from sandbox.timefmt import format_time

LINK_LIFETIME = timedelta(hours=1)  # simulated time a location stays valid; a new GET of the order renews it


def file_bytes(order: dict, index: int) -> Tuple[bytes, str]:
    """The content and media type of the order's `index`-th result."""
    return _spec_bytes(order, order["_results"][index]["_file"])


def _spec_bytes(order: dict, spec: dict) -> Tuple[bytes, str]:
    if spec["type"] == "tif":
        data = write_geotiff(tuple(spec["bounds"]), spec["width"], spec["height"], spec["bands"], spec["bits"],
                             spec["seed"])
        return data, "image/tiff"
    if spec["type"] == "metadata":
        west, south, east, north = spec["bounds"]
        ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
        document = {"id": spec["item_id"], "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"item_type": spec["item_type"], "provider": "sandbox"}}
        return json.dumps(document, indent=2).encode(), "application/json"
    if spec["type"] == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in spec["members"]:
                # A fixed date: the same order zips to the same bytes on every download (stable checksums).
                info = zipfile.ZipInfo(member["name"], date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, _spec_bytes(order, member["_file"])[0])
        return buffer.getvalue(), "application/zip"
    entries = []
    folder = order["id"] + "/"
    for result in order["_results"]:
        if result["_file"]["type"] == "manifest":
            continue
        data, media_type = _spec_bytes(order, result["_file"])
        entries.append({"path": result["name"][len(folder):], "media_type": media_type, "size": len(data),
                        "digests": {"md5": hashlib.md5(data).hexdigest(),
                                    "sha256": hashlib.sha256(data).hexdigest()}})
    return json.dumps({"name": "", "files": entries}, indent=2).encode(), "application/json"


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


def etag(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
