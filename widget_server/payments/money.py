"""Amounts: integer minor units of an ISO 4217 currency, shown and typed as decimal prices.

The number of decimals (the currency's minor-unit exponent: 2 for EUR, 0 for JPY, 3 for KWD)
comes from the CLDR data Babel ships; an unknown code falls back to 2, as Stripe does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

from widget_server.i18n import current_language

_PRICE = re.compile(r"^\d{1,12}(?:\.\d{1,6})?$")


def exponent(currency: str) -> int:
    return int(get_currency_precision(currency.upper()))


def major(amount: int, currency: str) -> Decimal:
    """Minor units as the currency's amount: 12050 EUR cents → 120.50, 500 JPY → 500."""
    return Decimal(amount).scaleb(-exponent(currency))


def price_text(amount: int, currency: str) -> str:
    """The amount as a form field shows it: ``1900, "eur"`` → ``"19.00"``."""
    return f"{major(amount, currency):.{exponent(currency)}f}"


def format_amount(amount: int, currency: str, language: str | None = None) -> str:
    """The amount with its ISO code in the reader's language: ``1900, "eur"`` → ``"19.00 EUR"``
    (``"19,00 EUR"`` in French; a no-break space before the code); ``500, "jpy"`` → ``"500 JPY"``.
    """
    code = currency.upper()
    locale = language or current_language.get()
    return str(format_currency(major(amount, currency), code, "#,##0.00\u00a0¤¤", locale=locale))


def format_amounts(per_currency: Mapping[str, int], language: str | None = None) -> str:
    """Amounts in several currencies: ``"120.00 EUR · 30.00 USD"``; ``"—"`` for none."""
    amounts = (format_amount(minor, code, language) for code, minor in per_currency.items())
    return " · ".join(amounts) or "—"


def parse_amount(text: str, currency: str) -> int | None:
    """A typed price (``"19"``, ``"19.5"``, ``"19,50"``) in minor units; None when it is not a
    positive number with at most the currency's decimals."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    if not _PRICE.match(cleaned):
        return None
    value = Decimal(cleaned)
    if value <= 0:
        return None
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        return None
    return int(minor)
