"""The table's and the map's "anything changed?" of the account's orders: one request for one refresh."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from core.app import orders_refresh
from core.app.orders_refresh import ChangeMark, order_mark_row, orders_unchanged_since
from core.services.planet_tasking.models import Page
from tests.fakes.orders import T0, make_order


class SlowAccount:
    """A client of one account whose orders listing answers after `delay` seconds, counting its requests."""

    def __init__(self, orders, key="PLAK-one", delay=0.2, fail=False):
        self.transport = SimpleNamespace(base_url="http://127.0.0.1:1/tasking/v2/", _api_key=key)
        self.orders, self.delay, self.fail = orders, delay, fail
        self.requests = 0

    def list_orders(self, *, limit=None, fields=None, updated_time__gte=None, **_):
        self.requests += 1
        time.sleep(self.delay)
        if self.fail:
            raise ConnectionError("the service did not answer")
        newer = [order for order in self.orders if order.updated_time >= updated_time__gte]
        return Page(len(newer), None, None, newer[:limit])


@pytest.fixture(autouse=True)
def no_answers_left():
    orders_refresh._answers.clear()
    yield
    orders_refresh._answers.clear()


def mark_of(orders):
    latest = max(order.updated_time for order in orders)
    return ChangeMark(latest, frozenset(order_mark_row(order) for order in orders if order.updated_time == latest))


def ask_at_once(askers):
    """Each (client, mark) asked in its own thread, all at once for one refresh; their answers (or errors) in order."""
    answers = [None] * len(askers)
    turn = object()  # one press of Refresh

    def ask(i, client, mark):
        try:
            answers[i] = orders_unchanged_since(client, mark, turn)
        except Exception as error:  # noqa: BLE001 - returned to the test
            answers[i] = error

    threads = [threading.Thread(target=ask, args=(i, *asker)) for i, asker in enumerate(askers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers


def test_the_table_and_the_map_asking_at_once_send_one_request_and_both_hear_unchanged():
    orders = [make_order(n, updated_time=T0) for n in range(3)]
    table_client, map_client = SlowAccount(orders), SlowAccount(orders)  # one account, a client each

    assert ask_at_once([(table_client, mark_of(orders)), (map_client, mark_of(orders))]) == [True, True]
    assert table_client.requests + map_client.requests == 1


def test_a_change_is_heard_by_both_from_the_one_request():
    orders = [make_order(n, updated_time=T0) for n in range(3)]
    mark = mark_of(orders)
    changed = orders[:2] + [make_order(2, status="FULFILLED", updated_time=T0)]  # changed within the same instant
    table_client, map_client = SlowAccount(changed), SlowAccount(changed)

    assert ask_at_once([(table_client, mark), (map_client, mark)]) == [False, False]
    assert table_client.requests + map_client.requests == 1


def test_other_accounts_and_other_marks_each_ask_for_themselves():
    orders = [make_order(n, updated_time=T0) for n in range(3)]
    one, other = SlowAccount(orders, key="PLAK-one"), SlowAccount(orders, key="PLAK-other")
    assert ask_at_once([(one, mark_of(orders)), (other, mark_of(orders))]) == [True, True]
    assert (one.requests, other.requests) == (1, 1)

    orders_refresh._answers.clear()
    fewer = SlowAccount(orders)
    assert ask_at_once([(fewer, mark_of(orders)), (fewer, mark_of(orders[:1]))]) == [True, False]
    assert fewer.requests == 2


def test_a_refresh_asked_for_in_a_later_turn_asks_again(qgis_app):
    orders = [make_order(n, updated_time=T0) for n in range(3)]
    client = SlowAccount(orders, delay=0.0)
    pressed = orders_refresh.refresh_turn()
    assert orders_refresh.refresh_turn() is pressed  # the table and the map, asked for in one turn
    assert orders_unchanged_since(client, mark_of(orders), pressed)
    assert orders_unchanged_since(client, mark_of(orders), pressed)
    assert client.requests == 1

    # The event loop turns: the next refresh never takes an answer asked before it was asked for (a change made
    # meanwhile would be missed), and its own questions share one again.
    qgis_app.processEvents()
    later = orders_refresh.refresh_turn()
    assert later is not pressed
    assert orders_unchanged_since(client, mark_of(orders), later)
    assert orders_unchanged_since(client, mark_of(orders), later)
    assert client.requests == 2


def test_a_failed_request_is_not_shared_the_one_that_joined_asks_again():
    orders = [make_order(n, updated_time=T0) for n in range(3)]
    failing, working = SlowAccount(orders, fail=True), SlowAccount(orders)
    # Same account (same key and address): the second joins the first's request, which fails.
    answers = ask_at_once([(failing, mark_of(orders)), (working, mark_of(orders))])
    if isinstance(answers[0], Exception):  # the failing one asked first; the other asked again
        assert answers[1] is True and working.requests == 1
    else:  # the working one asked first and shared its answer
        assert answers == [True, True] and failing.requests == 0
    assert not orders_unchanged_since(failing, None, object())
