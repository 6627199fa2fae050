"""What `hedgebot run` trades on by default, measured, and told as it is in the README."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.domain import MS_PER_HOUR, MS_PER_MINUTE, PriceObserved, parse_duration_ms
from bot.feeds.synthetic import Regime, SyntheticMarket, SyntheticSpec
from bot.live.assembly import base_of, perpetuals, spot_symbols, synthetic_plan, warmup_ms
from bot.live.session import FIXED_START_MS
from bot.report.text import utc

README = Path(__file__).resolve().parents[2] / "README.md"


def hourly_basket() -> tuple[list[tuple[int, float]], list[float]]:
    """The spot holdings' value and BTC's price on each hour of the default run and at its last instant (as the
    daemon values them)."""
    config = load_config(None)
    plan = synthetic_plan(config, FIXED_START_MS, config.span_ms, realtime=False)
    holdings = config.portfolio.holdings
    last: dict[str, float] = {}
    basket, btc = [], []
    last_ts = 0
    hour = plan.trading_from_ms
    for event in plan.events:
        if event.ts > hour and event.ts > plan.trading_from_ms:
            basket.append((hour, sum(qty * last[f"{asset}/USDT"] for asset, qty in holdings.items())))
            btc.append(last["BTC/USDT"])
            hour += MS_PER_HOUR
        if isinstance(event, PriceObserved):
            last[event.symbol] = event.price
            last_ts = event.ts
    basket.append((last_ts, sum(qty * last[f"{asset}/USDT"] for asset, qty in holdings.items())))  # the close
    btc.append(last["BTC/USDT"])
    return basket, btc


def stress_minutes_by_day() -> dict[str, int]:
    """Minutes of the stress regime in the traded month, by day."""
    config = load_config(None)
    bases = {base_of(s) for s in (*spot_symbols(config), *perpetuals(config))}
    market = SyntheticMarket(
        SyntheticSpec(
            assets=tuple(sorted(bases)),
            perpetuals=perpetuals(config),
            start_ms=FIXED_START_MS - warmup_ms(config),
            end_ms=FIXED_START_MS + config.span_ms,
            step_ms=parse_duration_ms(config.market.step),
            seed=config.bot.seed,
        )
    )
    days: dict[str, int] = {}
    for ts in range(FIXED_START_MS, FIXED_START_MS + config.span_ms, MS_PER_MINUTE):
        if market.regime_at(ts) is Regime.STRESS:
            days[utc(ts)[:10]] = days.get(utc(ts)[:10], 0) + 1
    return days


def about(value: float) -> str:
    return f"about {round(value, -2):,.0f}"


def test_the_readme_tells_what_the_default_runs_synthetic_market_does() -> None:
    basket, btc = hourly_basket()
    values = [value for _, value in basket]
    low = min(range(len(values)), key=values.__getitem__)
    high = max(range(len(values)), key=values.__getitem__)
    assert round(values[0]) == 46_444  # the same figures `hedgebot report` reads from the run's journal
    assert round(values[-2]) == 54_078  # 23:00 on the last day
    readme = " ".join(README.read_text().split())  # the paragraph as one line
    fall, rise = 1 - values[low] / values[0], values[-1] / values[0] - 1
    told = (
        f"the spot basket opens at {about(values[0])}, falls to {about(values[low])} on {utc(basket[low][0])[:10]}"
        f" (−{fall:.0%}), then rallies to {about(values[-1])} at the end (+{rise:.0%} over the month; high"
        f" {about(values[high])} on {utc(basket[high][0])[:10]}); BTC, the main hedge, goes from {about(btc[0])}"
        f" to {about(btc[-1])} (low {about(min(btc))})"
    )
    assert told in readme, told
    stress = stress_minutes_by_day()
    assert list(stress) == ["2024-01-13"]
    assert (
        f"only stress spell inside the month is about {round(stress['2024-01-13'] / 60)} hours, on 2024-01-13" in readme
    )
