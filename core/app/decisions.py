"""Tasking decisions: the feasibility studies and quotations waiting for the user, decided only after a confirmation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..services import registry
from ..services.base import Capability
from ..settings import PREFIX
from .orders_background import error_text

UNDECIDED = "NOT_DECIDED"
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"
# How many of the newest orders the panel's table shows (one page: the full list is the Orders tab's).
RECENT_ORDERS = 50

Confirm = Callable[[str, str], bool]  # (title, question) -> the user said yes

# The estimate in credits of each order placed from this QGIS profile, by order id: UP42 does not give an order's
# estimate back, and a feasibility option's price is a factor over it, so it is kept when the order is placed.
ESTIMATES_KEY = PREFIX + "up42/order_estimates"
KEPT_ESTIMATES = 500  # the newest orders' estimates kept; an older order's option shows its factor only


def deciding_service_id() -> str:
    """The registered service whose tasking orders wait for these decisions (UP42's studies and quotations)."""
    return registry.services(Capability.DECISIONS)[0].id


def sub_status_meaning(sub_status: Optional[str]) -> str:
    """What a deciding service's order sub-status means ("Quotation: accept or reject it"); one the service added
    since, as it is; "" for none."""
    if not sub_status:
        return ""
    meanings = registry.services(Capability.DECISIONS)[0].extras.get("sub_status_meanings") or {}
    meaning = meanings.get(sub_status)
    return meaning[:1].upper() + meaning[1:] if meaning else sub_status


def offered_for(descriptor: Any) -> bool:
    """Whether the dock offers the Decisions tab for a service: one whose tasking orders wait for these decisions."""
    can = getattr(descriptor, "can", None)
    return bool(can is not None and can(Capability.DECISIONS))


def _when(value: Optional[datetime]) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "not set"


def order_label(order: Any, order_id: str) -> str:
    """How the panel names an order: its name, else its id."""
    return (getattr(order, "name", None) or order_id) if order is not None else order_id


@dataclass
class PendingDecisions:
    """One reading of the workspace: the undecided studies and quotations, and its newest orders by id."""

    studies: List[Any] = field(default_factory=list)
    quotations: List[Any] = field(default_factory=list)
    recent: List[Any] = field(default_factory=list)
    orders: Dict[str, Any] = field(default_factory=dict)  # id -> order, for each decision's order and the recent

    @property
    def count(self) -> int:
        return len(self.studies) + len(self.quotations)

    def order_of(self, decision: Any) -> Any:
        return self.orders.get(decision.order_id)


def load_pending(client: Any, *, recent: int = RECENT_ORDERS) -> PendingDecisions:
    """The studies and quotations still undecided (the service filters by decision), the `recent` newest
    orders, and each decision's order (read on its own when it is older than those)."""
    pending = PendingDecisions(
        studies=[s for s in client.feasibility_studies(decision=UNDECIDED) if s.decision == UNDECIDED],
        quotations=[q for q in client.quotations(decision=UNDECIDED) if q.decision == UNDECIDED],
        recent=list(client.list_orders(page=0, size=recent).results),
    )
    pending.orders = {order.id: order for order in pending.recent}
    for decision in pending.studies + pending.quotations:
        if decision.order_id and decision.order_id not in pending.orders:
            pending.orders[decision.order_id] = client.get_order(decision.order_id)
    return pending


# -- the estimates of the orders placed here --------------------------------------------------------------

def _kept_estimates() -> Dict[str, int]:
    try:
        kept = json.loads(QgsSettings().value(ESTIMATES_KEY, "{}") or "{}")
    except (TypeError, ValueError):
        return {}
    return {str(k): int(v) for k, v in kept.items() if isinstance(v, (int, float))} if isinstance(kept, dict) else {}


def remember_estimate(order_id: str, credits: Any) -> None:
    """Keep the estimate (credits) an order was placed at, so its feasibility options can be priced in credits."""
    if not order_id or not isinstance(credits, (int, float)):
        return
    kept = _kept_estimates()
    kept.pop(order_id, None)
    kept[order_id] = int(credits)
    QgsSettings().setValue(ESTIMATES_KEY, json.dumps(dict(list(kept.items())[-KEPT_ESTIMATES:])))


def remembered_estimate(order_id: str) -> Optional[int]:
    """The estimate in credits the order was placed at from this profile, or None when it was placed elsewhere."""
    return _kept_estimates().get(order_id)


def option_credits(option: Any, estimate: Optional[int]) -> Optional[int]:
    """What the option would cost in credits: the order's estimate × the option's price factor (rounded as UP42
    prices its quotation); None when either is unknown."""
    if estimate is None or option.price_factor is None:
        return None
    return int(round(estimate * option.price_factor))


def _option_price(option: Any, estimate: Optional[int]) -> str:
    if option.price_factor is None:
        return "price factor not given"
    credits = option_credits(option, estimate)
    if credits is None:
        return f"price × {option.price_factor:g} of the order's estimate"
    return f"≈ {credits:,} credits (price × {option.price_factor:g})"


# -- what the user reads before saying yes -------------------------------------------------------------

def option_text(option: Any, estimate: Optional[int] = None) -> str:
    """One option of a study: its description, window and price (in credits when the order's estimate is known)."""
    description = (option.description or option.id).rstrip(". ")
    return (f"{description} — window {_when(option.acquisition_start)} – {_when(option.acquisition_end)}; "
            f"{_option_price(option, estimate)}")


def option_lines(option: Any, estimate: Optional[int] = None) -> str:
    """An option in short lines for a narrow list: its price ("≈ 208,527 credits (price × 1.5)", or "price × 1.5 of
    the order's estimate"), its window (from, to), then its description (the one line a 400 px list may cut off;
    the selected option is shown in full below the list)."""
    return (f"{_option_price(option, estimate)}\n"
            f"{_window(option.acquisition_start, option.acquisition_end)}\n"
            f"{option.description or option.id}")


def _window(start: Optional[datetime], end: Optional[datetime]) -> str:
    """A window in two short lines ("from 2026-12-08 02:12 UTC" / "to …"): one line does not fit a 400 px list."""
    return f"from {_when(start)}\nto {_when(end)}"


def estimate_note(estimate: Optional[int], option: Any = None) -> str:
    """Where an option's credits come from, or why they are not shown."""
    if estimate is None:
        return ("The order's estimate is not known here (it was not placed from this QGIS profile), so the option "
                "is priced as a factor of it; the quotation states the credits.")
    factor = "" if option is None or option.price_factor is None else f" × {option.price_factor:g}"
    return (f"Credits: the order's estimate when it was placed ({estimate:,} credits){factor}; the quotation that "
            "follows states the price you accept or reject.")


def quotation_text(quotation: Any, order: Any = None) -> str:
    """A quotation: its price in credits and until when it can be decided (the order's window end)."""
    price = "price not given" if quotation.credits_price is None else f"{quotation.credits_price:,} credits"
    deadline = getattr(order, "acquisition_end", None)
    return f"{price}; decide before {_when(deadline)}"


def option_question(study: Any, option: Any, order: Any = None, estimate: Optional[int] = None) -> str:
    """The confirmation of accepting a study's option: what it costs and what follows."""
    return "\n".join([
        f"Accept this option for order {order_label(order, study.order_id)}?", "",
        f"• {option_text(option, estimate)}", "",
        estimate_note(estimate, option), "",
        "Terms: the provider's quotation follows, priced at the order's estimate times this factor; "
        "you accept or reject that quotation before anything is charged. The other options are dropped.",
    ])


def option_details(option: Any, estimate: Optional[int] = None) -> str:
    """The selected option under a 400 px list, in few lines: its price and where it comes from, its window and
    description, and the terms (the confirmation says the same at more length)."""
    if option.price_factor is not None and estimate is not None:
        price = (f"Cost: {_option_price(option, estimate)}, the order's estimate when it was placed "
                 f"({estimate:,} credits) × {option.price_factor:g}.")
    elif option.price_factor is not None:
        price = (f"Cost: {_option_price(option, None)}, which is not known here (the order was not placed from "
                 "this QGIS profile); the quotation states the credits.")
    else:
        price = "Cost: the price factor is not given; the quotation states the credits."
    window = (f"{_when(option.acquisition_start)} – {_when(option.acquisition_end)}"
              .replace(" UTC – ", " – "))
    return (f"{price}\nWindow {window}. {(option.description or option.id).rstrip('. ')}.\n"
            "Terms: a quotation at this price follows, accepted or rejected by you before anything is charged; "
            "the other options are dropped.")


def quotation_question(quotation: Any, decision: str, order: Any = None) -> str:
    """The confirmation of accepting or rejecting a quotation, with its cost."""
    name = order_label(order, quotation.order_id)
    price = "an unstated price" if quotation.credits_price is None else f"{quotation.credits_price:,} credits"
    if decision == ACCEPTED:
        return (f"Accept the quotation for order {name}?\n\nCost: {price}, charged to the workspace.\n"
                "Terms: the provider captures the area within the order's window; the order cannot be cancelled "
                "any more.")
    return (f"Reject the quotation of {price} for order {name}?\n\n"
            "Terms: nothing is charged and the order ends (failed permanently, quotation rejected); "
            "this cannot be undone.")


def accept_option(client: Any, study_id: str, option_id: str) -> Any:
    return client.accept_feasibility_option(study_id, option_id)


def decide_quotation(client: Any, quotation_id: str, decision: str) -> Any:
    if decision not in (ACCEPTED, REJECTED):
        raise ValueError(f"decision must be {ACCEPTED} or {REJECTED}")
    return client.decide_quotation(quotation_id, decision)


class DecisionsWorkflow(QObject):
    """Reads the pending decisions and sends one, each in a QgsTask, after `confirm(title, question)` said yes
    on the main thread (a no sends nothing).

    `run(description, fn, on_success, on_error)` starts a task (a TaskGroup's run); `client_factory()` gives
    a fresh client or None (not configured: nothing starts). Signals: loaded(PendingDecisions),
    failed(text), decided(text) after a decision went through (then the list is read again), declined(text).
    """

    loaded = pyqtSignal(object)
    failed = pyqtSignal(str)
    decided = pyqtSignal(str)
    declined = pyqtSignal(str)

    def __init__(self, run: Callable, client_factory: Optional[Callable[[], Any]] = None,
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.run = run
        self.client_factory = client_factory or registry.client_factory(deciding_service_id())
        self.loading = False
        self.read_again = False
        self.sending = False
        self.decisions_sent = 0  # decisions answered (or failed) so far: a reading from before them is stale

    def _client(self) -> Any:
        try:
            client = self.client_factory()
        except Exception as error:  # settings that cannot be read: said, never raised into a slot
            self.failed.emit(f"UP42 could not be reached: {error_text(error)}")
            return None
        if client is None:
            self.failed.emit("UP42 is not configured: add its credentials in the plugin's settings.")
        return client

    def refresh(self) -> bool:
        """Read the pending decisions in the background, one reading at a time: asked while one runs, another
        follows it (that one may have been sent before a decision and show it still pending); False when
        none started now."""
        if self.loading:
            self.read_again = True
            return False
        client = self._client()
        if client is None:
            return False
        self.loading = True
        self.read_again = False
        decided_before = self.decisions_sent

        def done(pending: PendingDecisions) -> None:
            self.loading = False
            # A reading that overlapped a decision may show it still pending (and offer it again): not shown.
            # While the decision is on its way its own answer reads again; once it came, this reads again.
            if self.sending:
                return
            if self.read_again or self.decisions_sent != decided_before:
                self.refresh()
                return
            self.loaded.emit(pending)

        def failed(error: BaseException) -> None:
            self.loading = False
            if self.read_again:
                self.refresh()
                return
            self.failed.emit(f"The tasking decisions could not be read: {error_text(error)}")

        self.run("Reading UP42 feasibility studies and quotations", lambda feedback: load_pending(client), done, failed)
        return True

    def accept_option(self, study: Any, option: Any, order: Any, confirm: Confirm) -> bool:
        """Accept `option` of `study` if the user confirms; True when the request went off."""
        estimate = remembered_estimate(study.order_id)
        if not confirm("Accept feasibility option", option_question(study, option, order, estimate)):
            self.declined.emit(f"Nothing was sent: the option for {order_label(order, study.order_id)} was not accepted.")
            return False
        return self._send(f"Accepting a feasibility option of {order_label(order, study.order_id)}",
                          lambda client: accept_option(client, study.id, option.id),
                          f"Option accepted for {order_label(order, study.order_id)} ({option_text(option, estimate)}); "
                          "its quotation follows.")

    def decide_quotation(self, quotation: Any, decision: str, order: Any, confirm: Confirm) -> bool:
        """Accept or reject `quotation` if the user confirms; True when the request went off."""
        name = order_label(order, quotation.order_id)
        verb = "Accept" if decision == ACCEPTED else "Reject"
        if not confirm(f"{verb} quotation", quotation_question(quotation, decision, order)):
            self.declined.emit(f"Nothing was sent: the quotation for {name} stays undecided.")
            return False
        price = "" if quotation.credits_price is None else f" ({quotation.credits_price:,} credits)"
        outcome = "accepted: the order goes on" if decision == ACCEPTED else "rejected: the order ends"
        return self._send(f"{verb}ing the quotation of {name}",
                          lambda client: decide_quotation(client, quotation.id, decision),
                          f"Quotation for {name}{price} {outcome}.")

    def _send(self, description: str, call: Callable[[Any], Any], success_text: str) -> bool:
        if self.sending:
            self.failed.emit("A decision is still being sent; wait for its answer.")
            return False
        client = self._client()
        if client is None:
            return False
        self.sending = True

        def done(_result: Any) -> None:
            self.sending = False
            self.decisions_sent += 1
            self.decided.emit(success_text)
            self.refresh()

        def failed(error: BaseException) -> None:
            self.sending = False
            self.decisions_sent += 1  # refused or lost: the service's state is read again either way
            self.failed.emit(f"{description} failed: {error_text(error)}")
            self.refresh()

        self.run(description, lambda feedback: call(client), done, failed)
        return True


def waiting_orders(pending: PendingDecisions) -> Sequence[Any]:
    """The orders a decision waits on, in the order the decisions came."""
    seen: Dict[str, Any] = {}
    for decision in pending.studies + pending.quotations:
        seen.setdefault(decision.order_id, pending.order_of(decision))
    return [order for order in seen.values() if order is not None]
