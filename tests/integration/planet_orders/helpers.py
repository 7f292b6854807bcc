"""What the archive order tests share: a tasking order imaged and published to order from, and a session whose
downloads arrive over a slow line."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import requests

from tests.sandbox.helpers import advance_until

CHAMONIX = [6.86, 45.92]


def published_tasking_order(sandbox, client, name="to archive"):
    """A tasking order at Chamonix placed through `client` and run on the sandbox's clock until one of its captures
    is published, so that its imagery can be ordered from the archive; the order as it was placed."""
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    order = client.create_order({"name": name, "geometry": {"type": "Point", "coordinates": CHAMONIX},
                                 "start_time": start, "end_time": start + timedelta(days=14)})
    assert advance_until(sandbox, lambda: any(c.status == "PUBLISHED" for c in client.iter_captures(order.id)),
                         step=900), "no capture of the tasking order was published"
    return order


class ThrottledSession(requests.Session):
    """A session whose downloads arrive slowly (a slow line), so a test can stop one half way."""

    def get(self, url, **kwargs):
        response = super().get(url, **kwargs)
        if kwargs.get("stream"):
            chunks = response.iter_content

            def slow(size=1, decode_unicode=False):
                for chunk in chunks(min(size, 64 << 10), decode_unicode):
                    time.sleep(0.05)
                    yield chunk

            response.iter_content = slow
        return response
