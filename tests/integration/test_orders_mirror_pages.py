"""The map listing reads orders in big pages (cheaper for the service) and hands them on in small parts."""

from __future__ import annotations

from core.app.orders_mirror import mirror_orders
from tests.integration.order_states import make_client, point


def test_big_pages_are_handed_on_in_small_parts_each_order_once_with_its_captures(sandbox):
    client = make_client(sandbox)
    for n in range(30):
        client.create_order({"name": f"paged {n}", "geometry": point(40 + n)})
    sandbox.advance(2 * 86400)
    pages = []
    list_orders = client.transport.iter_pages

    def counted(path, params, **kwargs):
        for page in list_orders(path, params, **kwargs):
            if path == "orders/":
                pages.append(len(page["results"]))
            yield page

    client.transport.iter_pages = counted
    parts = []
    seen, total, _ = mirror_orders(client, {}, {}, parts.append, page_size=20, part_size=7)

    assert total == 30 and len(seen) == 30
    assert pages == [20, 10]  # two requests for the orders
    assert [len(part.orders) for part in parts] == [7, 7, 7, 7, 2]
    assert sorted(order_id for part in parts for order_id in part.orders.rows) == sorted(seen)
    captures = {capture.id for capture in client.iter_captures(sorted(seen), page_size=1000)}
    assert captures and {capture_id for part in parts for capture_id in part.captures.rows} == captures
