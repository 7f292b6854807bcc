"""Where the imaging-windows timeline draws each window, in what colour, and what hovering it says (no painting)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from core.services.planet_tasking.models import CloudForecast, ImagingWindow, Pricing
from ui.new_order.windows_timeline import (
    CLOUD_COLOURS,
    MIN_BAR_PX,
    NO_FORECAST_COLOUR,
    bar_at,
    cloud_colour,
    timeline_bars,
    timeline_span,
)

DAY = datetime(2026, 11, 23, tzinfo=timezone.utc)
GREEN, AMBER, GREY = (colour for _limit, colour in CLOUD_COLOURS)


def window(window_id, start, seconds=60, cloud=None, price=None, off_nadir=(5.0, 12.25)):
    return ImagingWindow(
        id=window_id, start_time=start, end_time=start + timedelta(seconds=seconds),
        off_nadir_angle_min=off_nadir[0], off_nadir_angle_max=off_nadir[1],
        cloud_forecast=[] if cloud is None else [CloudForecast(prediction=cloud, updated_time=DAY)],
        pricing_details=None if price is None else Pricing(units="SQKM", estimated_quota_cost=price),
    )


def test_the_span_is_whole_days_from_the_first_windows_day_to_the_last_windows_end():
    windows = [window("a", DAY + timedelta(hours=9)), window("b", DAY + timedelta(days=2, hours=3))]
    assert timeline_span(windows) == (DAY, DAY + timedelta(days=3))
    assert timeline_span([window("a", DAY + timedelta(hours=9))]) == (DAY, DAY + timedelta(days=1))
    assert timeline_span([]) is None


def test_bars_sit_where_their_windows_are_in_time_order_and_stay_wide_enough_to_hit():
    late = window("late", DAY + timedelta(days=1, hours=12), cloud=80)
    early = window("early", DAY + timedelta(hours=6), cloud=10)
    bars = timeline_bars([late, early], 400, (DAY, DAY + timedelta(days=2)))
    assert [b.window_id for b in bars] == ["early", "late"]
    # 6 h of 48 h is 1/8 of 400 px; 36 h is 3/4.
    assert [b.left for b in bars] == [50, 300]
    # A one-minute window is a fraction of a pixel over two days: drawn at the minimum width.
    assert all(b.width == MIN_BAR_PX for b in bars)
    assert [b.colour for b in bars] == [GREEN, GREY]
    # A bar at the very end stays inside the timeline.
    edge = timeline_bars([window("edge", DAY + timedelta(days=2) - timedelta(seconds=1))], 400,
                         (DAY, DAY + timedelta(days=2)))[0]
    assert edge.left + edge.width <= 400


def test_the_colour_follows_the_cloud_forecast():
    assert [cloud_colour(c) for c in (0, 20, 21, 50, 51, 100)] == [GREEN, GREEN, AMBER, AMBER, GREY, GREY]
    assert cloud_colour(None) == NO_FORECAST_COLOUR


def test_hovering_a_bar_tells_cloud_off_nadir_and_price():
    bar = timeline_bars([window("w", DAY + timedelta(hours=9, minutes=5), cloud=35, price=37.5)], 300)[0]
    assert bar.tooltip.splitlines() == ["2026-11-23 09:05:00 UTC", "Cloud forecast: 35 %", "Off-nadir: 5.0–12.2°",
                                        "Price: 37.50 km² of quota"]
    unknown = timeline_bars([window("u", DAY, off_nadir=(None, None))], 300)[0]
    assert "Cloud forecast: –" in unknown.tooltip and "Off-nadir: –" in unknown.tooltip
    assert "Price: –" in unknown.tooltip


def test_a_click_picks_the_bar_under_it_or_one_a_few_pixels_off():
    bars = timeline_bars([window("a", DAY + timedelta(hours=6)), window("b", DAY + timedelta(hours=18))], 240)
    assert bar_at(bars, bars[0].left + 1).window_id == "a"
    assert bar_at(bars, bars[1].left - 2).window_id == "b"
    assert bar_at(bars, 120) is None


def test_of_overlapping_bars_the_one_centred_under_the_pointer_wins_and_a_tie_goes_to_the_one_on_top():
    close = [window("first", DAY + timedelta(hours=9)), window("second", DAY + timedelta(hours=9, minutes=40))]
    bars = timeline_bars(close, 336, (DAY, DAY + timedelta(days=7)))
    assert bars[0].contains(bars[1].left + bars[1].width // 2)  # they overlap
    assert bar_at(bars, bars[1].left + bars[1].width // 2).window_id == "second"
    assert bar_at(bars, bars[0].left).window_id == "first"
    same = timeline_bars([window("a", DAY), window("b", DAY)], 336, (DAY, DAY + timedelta(days=7)))
    assert bar_at(same, 1).window_id == "b"
