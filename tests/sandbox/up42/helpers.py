"""A UP42 client for tests (login by the password grant, then bearer calls) and request bodies."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import requests

PLEIADES = "bd102407-1814-4f92-8b5a-7697b7a73f5a"  # the document's Pléiades analytic tasking product
TOKEN_PATH = "/realms/public/protocol/openid-connect/token"
USERINFO_PATH = "/realms/public/protocol/openid-connect/userinfo"

# The document's Pléiades request (up42-tasking.txt, its table of parameters), field by field.
DOC_EXAMPLE: Dict[str, Any] = {
    "dataProduct": PLEIADES,
    "params": {
        "displayName": "My satellite tasking order",
        "acquisitionStart": "2022-08-01T00:00:00.000Z",
        "acquisitionEnd": "2022-10-01T00:00:00.000Z",
        "acquisitionMode": "mono",
        "radiometricProcessing": "reflectance",
        "geometricProcessing": "ortho",
        "spectralProcessing": "bundle",
        "deliveredAs": "geotiff",
        "geometry": {
            "coordinates": [[[-79.64181869909564, 9.072695881506306], [-79.43872941845207, 9.072695881506306],
                             [-79.43878601941417, 8.870349117277087], [-79.64176209813355, 8.870349117277087],
                             [-79.64181869909564, 9.072695881506306]]],
            "type": "Polygon",
        },
        "extraDescription": "Capture high resolution images over my AOI",
        "cloudCoverage": 10,
        "incidenceAngle": 10,
        "pixelCoding": "12bits",
        "projection": 4326,
    },
}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def square(lon: float = 13.35, lat: float = 52.51, size: float = 0.1) -> Dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size],
                                                [lon, lat + size], [lon, lat]]]}


def features(*geometries: Dict[str, Any]) -> Dict[str, Any]:
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": g} for g in geometries]}


def doc_example(now: datetime, days: int = 5, length: int = 30) -> Dict[str, Any]:
    """The document's request with its window moved to `days` ahead of the sandbox's clock."""
    body = copy.deepcopy(DOC_EXAMPLE)
    body["params"]["acquisitionStart"] = iso(now + timedelta(days=days))
    body["params"]["acquisitionEnd"] = iso(now + timedelta(days=days + length))
    return body


def v2_body(now: datetime, product: str = PLEIADES, name: str = "test order", geometries: Optional[List[dict]] = None,
            **params: Any) -> Dict[str, Any]:
    """A v2 request as up42-py builds it: the AOI in featureCollection, the rest in params."""
    base = copy.deepcopy(DOC_EXAMPLE["params"])
    for key in ("displayName", "geometry"):
        base.pop(key)
    base["acquisitionStart"] = iso(now + timedelta(days=2))
    base["acquisitionEnd"] = iso(now + timedelta(days=32))
    base.update(params)
    return {"dataProduct": product, "displayName": name, "params": base,
            "featureCollection": features(*(geometries or [square()]))}


class Up42:
    """Logs in as one sandbox account and calls UP42's API with its bearer token."""

    def __init__(self, root: str, username: str, password: Optional[str] = None):
        self.root = root
        self.session = requests.Session()
        answer = requests.post(root + TOKEN_PATH, data={
            "grant_type": "password", "username": username, "password": password or username,
            "client_id": "up42-sdk", "scope": "openid"}, timeout=30)
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self.token}"
        self.workspace = self.get(USERINFO_PATH).json()["sub"]

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.root + path, timeout=30, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(self.root + path, json=body, timeout=30, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.patch(self.root + path, json=body, timeout=30, **kwargs)

    def place(self, body: Dict[str, Any]) -> List[str]:
        """POST /v2/orders?workspaceId= and the ids of the orders it made (none may fail)."""
        answer = self.post("/v2/orders", body, params={"workspaceId": self.workspace})
        assert answer.status_code == 200, answer.text
        assert answer.json()["errors"] == [], answer.json()
        return [r["id"] for r in answer.json()["results"]]

    def order(self, order_id: str) -> Dict[str, Any]:
        answer = self.get(f"/v2/orders/{order_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def only(self, path: str, **params: Any) -> Dict[str, Any]:
        """The one element of a list endpoint's first page (a study or a quotation of an order)."""
        answer = self.get(path, params=params)
        assert answer.status_code == 200, answer.text
        content = answer.json()["content"]
        assert len(content) == 1, content
        return content[0]
