"""A vectorised reference of the README backtest's hedge: what the work itself costs in numpy.

The same basket (config/backtest.toml: ten altcoins, 10,000 each bought at the first traded price), the same
hedge instruments (BTC and ETH perpetuals, `perp_1h` closes), the same rolling 30-day min-variance hedge on hourly
returns and the same rebalance band (10 % of the target, at least 250) and taker fee; no funding, no clips, no
limits, no sanity layer. Its variance reduction lands near hedgebot's, which is the point: a yardstick for time,
not a second implementation of the bot (bench/backtest.py measures both side by side).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ALTS = ("ETH", "SOL", "BNB", "XRP", "ADA", "DOGE", "AVAX", "LINK", "DOT", "LTC")
HEDGES = ("BTC", "ETH")
HOUR_MS = 3_600_000
WINDOW_H = 30 * 24
BAND, MIN_TRADE, FEE = 0.1, 250.0, 0.0004


@dataclass(frozen=True, slots=True)
class Reference:
    variance_reduction: float
    trades: int
    hours: int


def closes(path: Path, symbols: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.read_csv(path, usecols=["timestamp", "symbol", "close"])
    frame = frame[frame["symbol"].isin([f"{s}USDT" for s in symbols])]
    wide = frame.pivot(index="timestamp", columns="symbol", values="close")
    wide.index = pd.to_datetime(wide.index)
    return wide.ffill()


def rolling_cov(x: np.ndarray, window: int) -> np.ndarray:
    """Sample covariance of the last `window` rows at every row (NaN before), from cumulative sums: O(n k²)."""
    k = x.shape[1]
    outer = x[:, :, None] * x[:, None, :]
    s1 = np.cumsum(x, axis=0)
    s2 = np.cumsum(outer, axis=0)
    s1w = s1[window - 1 :] - np.vstack([np.zeros((1, k)), s1[:-window]])
    s2w = s2[window - 1 :] - np.concatenate([np.zeros((1, k, k)), s2[:-window]])
    cov = (s2w - s1w[:, :, None] * s1w[:, None, :] / window) / (window - 1)
    return np.concatenate([np.full((window - 1, k, k), np.nan), cov])


def run(prices: Path, perp: Path, start: str = "2021-01-01", end: str = "2023-01-01") -> Reference:
    spot = closes(prices, ALTS)
    hedge = closes(perp, HEDGES)
    frame = spot.join(hedge, how="inner", rsuffix="_perp")
    lo = pd.Timestamp(start, tz="UTC") - pd.Timedelta(hours=WINDOW_H + 1)
    frame = frame[(frame.index >= lo) & (frame.index < pd.Timestamp(end, tz="UTC"))]
    spot_px = frame[[f"{a}USDT" for a in ALTS]].to_numpy()
    hedge_px = frame[[c for c in frame.columns if c.endswith("_perp") or c == "BTCUSDT"]].to_numpy()
    returns = np.log(np.hstack([spot_px, hedge_px])[1:] / np.hstack([spot_px, hedge_px])[:-1])
    cov = rolling_cov(returns, WINDOW_H)
    first = int(frame.index.searchsorted(pd.Timestamp(start, tz="UTC")))
    qty = 10_000.0 / spot_px[first]
    values = spot_px @ qty  # the basket's value
    weights = spot_px * qty / values[:, None]
    k = len(ALTS)
    held = np.zeros(len(HEDGES))  # hedge contracts
    hedged = np.empty(len(frame) - first)
    cash, trades = 0.0, 0
    for i in range(first, len(frame)):
        c = cov[i - 1]
        w = weights[i]
        sxx, sxy = c[k:, k:], c[k:, :k] @ w
        target = -values[i] * np.linalg.solve(sxx, sxy)
        target = np.where(target > 0, 0.0, target) if target.sum() > 0 else target
        gross = np.abs(target).sum()
        target = target * min(1.0, values[i] / gross) if gross > 0 else target
        actual = held * hedge_px[i]
        drift = np.abs(actual - target)
        if np.any((drift > BAND * np.abs(target)) & (drift > MIN_TRADE)):
            traded = target / hedge_px[i] - held
            cash -= np.abs(traded * hedge_px[i]).sum() * FEE + traded @ hedge_px[i]
            held = held + traded
            trades += 1
        hedged[i - first] = values[i] + cash + held @ hedge_px[i]
    days = pd.DatetimeIndex(frame.index[first:]).floor("D")
    unhedged_daily = pd.Series(values[first:], index=days).groupby(level=0).last().diff().dropna()
    hedged_daily = pd.Series(hedged, index=days).groupby(level=0).last().diff().dropna()
    reduction = 1.0 - float(np.var(hedged_daily.to_numpy()) / np.var(unhedged_daily.to_numpy()))
    return Reference(reduction, trades, len(hedged))
