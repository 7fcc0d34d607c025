"""Working hours: per weekday, several ``[start, end]`` intervals of ``"HH:MM"`` (24 h) in the
site's time zone; an interval may end at ``"24:00"``."""

from __future__ import annotations

import re
from datetime import datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from widget_server.errors import field_error
from widget_server.i18n import _

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
MAX_INTERVALS = 6
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

Hours = dict[str, list[list[str]]]


def default_hours() -> Hours:
    return {day: [["09:00", "18:00"]] if day not in ("sat", "sun") else [] for day in WEEKDAYS}


def minutes(value: str) -> int:
    hours, _sep, mins = value.partition(":")
    return int(hours) * 60 + int(mins)


def clean_hours(value: Any, field: str = "hours") -> tuple[Hours, list[dict[str, Any]]]:
    """The hours sorted by start, every weekday present; and the details of what is wrong
    (``hours.mon`` and the like)."""
    if not isinstance(value, dict):
        return default_hours(), [field_error(field, _("Working hours must be an object."))]
    details: list[dict[str, Any]] = []
    for day in value:
        if day not in WEEKDAYS:
            details.append(field_error(f"{field}.{day}", _("Unknown weekday."), "unknown"))
    cleaned: Hours = {}
    for day in WEEKDAYS:
        intervals = value.get(day) or []
        name = f"{field}.{day}"
        if not isinstance(intervals, list):
            details.append(field_error(name, _("Must be a list of intervals."), "type"))
            continue
        if len(intervals) > MAX_INTERVALS:
            message = _("At most {count} intervals a day.").format(count=MAX_INTERVALS)
            details.append(field_error(name, message, "length"))
            continue
        good: list[list[str]] = []
        for interval in intervals:
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(t, str) and _TIME.match(t) for t in interval)
                or interval[0] == "24:00"
            ):
                message = _("Write times as HH:MM (00:00 to 24:00), e.g. 09:00–18:00.")
                details.append(field_error(name, message, "format"))
                break
            start, end = str(interval[0]), str(interval[1])
            if minutes(end) <= minutes(start):
                message = _("An interval must end after it starts ({start}–{end}).").format(
                    start=start, end=end
                )
                details.append(field_error(name, message, "order"))
                break
            good.append([start, end])
        else:
            good.sort(key=lambda pair: minutes(pair[0]))
            if any(minutes(b[0]) < minutes(a[1]) for a, b in pairwise(good)):
                details.append(field_error(name, _("Intervals must not overlap."), "overlap"))
            cleaned[day] = good
    return cleaned, details


def zone(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_open(hours: Hours, time_zone: str, now: datetime) -> bool:
    """Whether ``now`` (aware) falls in one of the intervals of its weekday in the time zone."""
    local = now.astimezone(zone(time_zone))
    at = local.hour * 60 + local.minute
    intervals = hours.get(WEEKDAYS[local.weekday()], [])
    return any(minutes(start) <= at < minutes(end) for start, end in intervals)
