"""Server-rendered SVG charts for report pages: no JavaScript, readable by screen readers.

The chart is one ``<svg role="img">`` whose ``aria-label`` and ``<title>`` say what it shows
in words; the page's table carries the exact numbers. Colours come from console.css
(``.chart-*`` classes), so the SVG holds geometry only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from babel.dates import format_date
from markupsafe import Markup, escape

from widget_server.counter.reports import DayPoint
from widget_server.i18n import _, current_language, ngettext

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 12, 28  # room for the axis labels
MAX_X_LABELS = 8


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover (the loop always returns)


def _day(day: date) -> str:
    return format_date(day, "d MMM", locale=current_language.get())


def _summary(series: Sequence[DayPoint]) -> str:
    total = sum(point.visits for point in series)
    text = _("Visits per day from {first} to {last}: {visits}, {conversions}.").format(
        first=format_date(series[0].day, "long", locale=current_language.get()),
        last=format_date(series[-1].day, "long", locale=current_language.get()),
        visits=ngettext("%(num)d visit", "%(num)d visits", total) % {"num": total},
        conversions=ngettext(
            "%(num)d conversion", "%(num)d conversions", sum(p.conversions for p in series)
        )
        % {"num": sum(p.conversions for p in series)},
    )
    if total:
        peak = max(series, key=lambda point: point.visits)
        text += " " + _("The busiest day was {day} with {visits}.").format(
            day=format_date(peak.day, "long", locale=current_language.get()),
            visits=ngettext("%(num)d visit", "%(num)d visits", peak.visits) % {"num": peak.visits},
        )
    return text


def visits_chart(series: Sequence[DayPoint]) -> Markup:
    """Bars of visits per day, the converted part of each bar drawn darker."""
    if not series:
        return Markup("")
    summary = escape(_summary(series))
    top = _nice_ceiling(max(point.visits for point in series))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / len(series)
    bar = max(slot * 0.8, 0.5)

    def y(value: int) -> float:
        return TOP + plot_height * (1 - value / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{summary}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{summary}</title>",
    ]
    for value in (0, top // 2, top) if top > 1 else (0, top):
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="chart-label" x="{LEFT - 6}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    every = max(1, math.ceil(len(series) / MAX_X_LABELS))
    for index, point in enumerate(series):
        x = LEFT + index * slot + (slot - bar) / 2
        tip = escape(
            f"{_day(point.day)}: "
            + ngettext("%(num)d visit", "%(num)d visits", point.visits) % {"num": point.visits}
            + ", "
            + ngettext("%(num)d conversion", "%(num)d conversions", point.conversions)
            % {"num": point.conversions}
        )
        parts.append(f"<g><title>{tip}</title>")
        if point.visits:
            parts.append(
                f'<rect class="chart-visits" x="{x:.1f}" y="{y(point.visits):.1f}" '
                f'width="{bar:.1f}" height="{y(0) - y(point.visits):.1f}"/>'
            )
        if point.conversions:
            parts.append(
                f'<rect class="chart-conversions" x="{x:.1f}" y="{y(point.conversions):.1f}" '
                f'width="{bar:.1f}" height="{y(0) - y(point.conversions):.1f}"/>'
            )
        parts.append("</g>")
        if index % every == 0:
            parts.append(
                f'<text class="chart-label" x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{escape(_day(point.day))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())
