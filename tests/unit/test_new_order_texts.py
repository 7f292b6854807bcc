"""How soon an imaging window starts, as the order panel tells the analyst."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.services.planet_tasking.models import ImagingWindow
from ui.new_order.texts import time_until_text, window_timing_lines

NOW = datetime(2026, 11, 23, 8, 50, tzinfo=timezone.utc)


@pytest.mark.parametrize("ahead, text", [
    (timedelta(seconds=30), "in less than a minute"),
    (timedelta(minutes=12, seconds=40), "in 12 min"),
    (timedelta(hours=5, minutes=3), "in 5 h 03 min"),
    (timedelta(days=1, hours=0, minutes=20), "in 1 day 0 h"),
    (timedelta(days=4, hours=7), "in 4 days 7 h"),
])
def test_time_until_reads_like_a_person_would_say_it(ahead, text):
    assert time_until_text(NOW + ahead, NOW) == text


def test_a_started_window_is_flagged_as_no_longer_orderable():
    started = ImagingWindow(id="w", start_time=NOW - timedelta(seconds=1), end_time=NOW + timedelta(minutes=1))
    when, warning = window_timing_lines(started, NOW)
    assert when == "started" and "can no longer be ordered" in warning
    ahead = ImagingWindow(id="w", start_time=NOW + timedelta(hours=2), end_time=NOW + timedelta(hours=2, minutes=1))
    assert window_timing_lines(ahead, NOW) == ("in 2 h 00 min", None)


def test_a_window_about_to_start_warns_that_it_may_be_too_late_to_lock_in():
    soon = ImagingWindow(id="w", start_time=NOW + timedelta(minutes=12), end_time=NOW + timedelta(minutes=13))
    when, warning = window_timing_lines(soon, NOW)
    assert when == "in 12 min" and warning.startswith("It starts in 12 min: ") and "rejected" in warning
    later = ImagingWindow(id="w", start_time=NOW + timedelta(minutes=61), end_time=NOW + timedelta(minutes=62))
    assert window_timing_lines(later, NOW)[1] is None
