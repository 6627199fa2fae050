"""A ticker's 24 h quote volume rides with its mark (proxy candidates' liquidity); a bad one never costs the mark."""

from __future__ import annotations

import pytest

from bot.venues.ccxt_parse import mark_price_from
from tests.venues.test_ccxt_parse import MARK


def test_a_tickers_quote_volume_comes_with_its_mark() -> None:
    event = mark_price_from({**MARK, "quoteVolume": 1.5e9})
    assert (event.price, event.quote_volume_24h) == (30_000.0, 1.5e9)


def test_a_mark_price_stream_without_volume_gives_none() -> None:
    assert mark_price_from(MARK).quote_volume_24h is None


@pytest.mark.parametrize("bad", ["lots", -1.0, float("nan"), float("inf"), True])
def test_an_unusable_quote_volume_is_dropped_and_the_mark_kept(bad: object) -> None:
    event = mark_price_from({**MARK, "quoteVolume": bad})
    assert (event.price, event.quote_volume_24h) == (30_000.0, None)
