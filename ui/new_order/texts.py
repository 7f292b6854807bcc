"""The New order tab's words: the quote line by line, how soon a window starts, the confirmation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, List, Optional, Tuple

from ...core.names import units_text

if TYPE_CHECKING:  # display types only: the words need no service code at run time
    from ...core.aoi import Aoi
    from ...core.services.planet_tasking.forms import OrderForm
    from ...core.services.planet_tasking.models import ImagingWindow, Pricing

MULTIPLIER_WORDS = {
    "imaging_mode": "imaging mode",
    "tasking_tier": "tasking tier",
    "exclusivity": "exclusivity",
}


def format_cost(value: Optional[float], units: Optional[str]) -> str:
    if value is None:
        return "unknown"
    return f"{value:,.2f} {units_text(units)}"


def pricing_lines(pricing: "Pricing") -> List[str]:
    """The quote line by line: cost, base price, each multiplier, and any orders it replaces."""
    if not pricing.ok:
        return [f"The service could not price this order: {pricing.error}"]
    lines = [f"Estimated cost: {format_cost(pricing.estimated_quota_cost, pricing.units)}"]
    model = pricing.pricing_model
    if model is not None:
        if model.base_price is not None:
            lines.append(f"Base price: {model.base_price:,.2f} {units_text(pricing.units)}")
        for multiplier in model.multipliers:
            label = MULTIPLIER_WORDS.get(multiplier.name, multiplier.name.replace("_", " "))
            detail = f" ({multiplier.description})" if multiplier.description else ""
            lines.append(f"× {multiplier.value:g} {label}{detail}")
    if pricing.determined_by == "replaced_orders" and pricing.replaced_orders:
        lines.append("Determined by the orders it replaces:")
    for replaced in pricing.replaced_orders:
        cost = "" if replaced.cost is None else f": {replaced.cost:,.2f} {units_text(pricing.units)}"
        lines.append(f"Replaces “{replaced.name or replaced.order_id}”{cost}")
    return lines


def time_until_text(start: datetime, now: datetime) -> str:
    """How soon a window starts, as an analyst reads it: "in 12 min", "in 5 h 03 min", "in 2 days 4 h"."""
    minutes = int((start - now).total_seconds() // 60)
    if minutes < 1:
        return "in less than a minute"
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"in {hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"in {days} day{'s' if days != 1 else ''} {hours} h"


# An assured order is only fulfilled once Planet locks it into the satellite's plan, and "if the lock-in
# cannot be confirmed due to scheduling issues" it fails (planet-assured-tasking.txt). The documents give
# no lead time; within this much of the window the panel says the risk out loud.
SHORT_NOTICE = timedelta(hours=1)


def window_timing_lines(window: "ImagingWindow", now: datetime) -> Tuple[str, Optional[str]]:
    """(when it starts, a warning or None): a window that has begun can no longer be ordered, and one
    about to begin may be too late to lock in."""
    if window.start_time is None:
        return "start unknown", None
    if window.start_time <= now:
        return "started", "This window has started and can no longer be ordered: search again for later ones."
    when = time_until_text(window.start_time, now)
    if window.start_time - now < SHORT_NOTICE:
        return when, (f"It starts {when}: this close to the window the order may not be locked into the "
                      "satellite's plan in time; it would then be rejected, and any order it replaces stays.")
    return when, None


def replaced_names(window: Optional["ImagingWindow"], pricing: Optional["Pricing"] = None) -> List[str]:
    """Names of the existing orders an order would replace (from its window or its price)."""
    names: List[str] = []
    if window is not None:
        names += [o.name or o.id for o in window.conflicting_orders]
    if pricing is not None:
        names += [r.name or r.order_id for r in pricing.replaced_orders if (r.name or r.order_id) not in names]
    return names


def confirmation_text(form: "OrderForm", aoi: Optional["Aoi"], pricing: Optional["Pricing"],
                      window: Optional["ImagingWindow"] = None) -> str:
    """What the user agrees to by placing the order: what, where, when, and what it costs and replaces."""
    what = "Assured" if form.is_assured else "Flexible"
    kind = f"stereo ({form.n_stereo_pov} points of view)" if form.is_stereo else "image"
    lines = [f"Place the {what.lower()} {kind} order “{form.name.strip()}”?"]
    if aoi is not None:
        lines.append(aoi.summary())
    if window is not None and window.start_time is not None:
        lines.append(f"Imaging window: {window.start_time:%Y-%m-%d %H:%M:%S} UTC")
    elif form.start_time is not None or form.end_time is not None:
        start = f"{form.start_time:%Y-%m-%d %H:%M}" if form.start_time else "now"
        end = f"{form.end_time:%Y-%m-%d %H:%M}" if form.end_time else "(service default)"
        lines.append(f"From {start} to {end} UTC")
    if pricing is not None and pricing.ok:
        lines.append(f"Cost: {format_cost(pricing.estimated_quota_cost, pricing.units)}")
    else:
        lines.append("Cost: not known (the quote is not available); the service charges by its pricing.")
    replaced = replaced_names(window, pricing)
    if replaced:
        lines.append("It replaces (cancels) your order" + ("s " if len(replaced) > 1 else " ")
                     + ", ".join(f"“{name}”" for name in replaced) + ".")
    return "\n".join(lines)


def searching_text(count: int) -> str:
    """What a running imaging-window search says, with the windows found so far."""
    if not count:
        return "Searching imaging windows… (up to 5 minutes; you can keep working)"
    return (f"Searching… {count} window{'s' if count != 1 else ''} so far; you can choose one now "
            "or wait for more (up to 5 minutes).")


def search_found_text(windows: List["ImagingWindow"], count: int) -> str:
    """What a finished search says: how many windows (and how many replace orders), or how to find some."""
    if not windows:
        return ("No imaging windows match: widen the time range, lower the minimum satellite elevation, "
                "or include windows that replace your orders.")
    replacing = sum(1 for w in windows if w.replaces_orders)
    text = f"{count} imaging window{'s' if count != 1 else ''} found"
    if replacing:
        text += f" ({replacing} replace{'s' if replacing == 1 else ''} your orders, highlighted)"
    return text + ": choose one."
