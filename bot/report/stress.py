"""Stress scenarios: what a crash, BTC rising while altcoins fall, a funding spike or a collateral haircut
does to the spot book, the hedge and the hedge account's margin. Pure: values in, values out.

Model: linear (USDⓈ-margined) contracts in one cross-margined hedge account, prices in the quote currency.
    spot loss        Σ qty × price × −move(asset)                       (+ = loss)
    hedge P&L        Σ qty × contract_size × (price_after − price)
    funding          perpetuals: Σ −qty × contract_size × price_after × rate × settlements (+ = received;
                     shorts receive positive funding, so a negative rate is the stress for a short hedge)
    equity after     equity × (1 − haircut) + hedge P&L + funding
    maintenance      mmr × Σ |qty| × contract_size × price_after
    margin ratio     equity after / maintenance (+inf with no positions); headroom = equity − maintenance
    liquidation      per position: the move m of its underlying (every position on that underlying moving
                     together, all other prices held) at which equity = maintenance. With N the signed and
                     G the gross notional on that underlying: E + m·N = MM + m·mmr·G, so
                     m = (MM − E) / (N − mmr·G); the liquidation price is price × (1 + m).
The haircut values the collateral lower for margin purposes; it is not a loss of portfolio value.
Inverse (coin-margined) contracts need their collateral's own price path and are refused for now.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain import Instrument, InstrumentKind, Symbol


@dataclass(frozen=True, slots=True)
class Holding:
    """A spot holding: `qty` units of `asset` worth `price` each."""

    asset: str
    qty: float
    price: float

    def __post_init__(self) -> None:
        _check_price(self.asset, self.price)


@dataclass(frozen=True, slots=True)
class HedgePosition:
    """`qty` contracts (signed, − short) of a linear perpetual or dated future, marked at `price`."""

    instrument: Instrument
    qty: float
    price: float

    def __post_init__(self) -> None:
        _check_price(self.instrument.symbol, self.price)
        if self.instrument.inverse:
            raise ValueError(f"{self.instrument.symbol}: inverse (coin-margined) contracts are not modelled")
        if not self.instrument.is_derivative:
            raise ValueError(f"{self.instrument.symbol}: a hedge position must be a perpetual or a future")

    def notional(self, price: float) -> float:
        return self.instrument.notional(self.qty, price)


@dataclass(frozen=True, slots=True)
class Book:
    holdings: Sequence[Holding]
    hedges: Sequence[HedgePosition]
    equity: float  # hedge-account equity, quote currency
    maintenance_margin_rate: float

    def __post_init__(self) -> None:
        if not 0 < self.maintenance_margin_rate < 1:
            raise ValueError(f"maintenance_margin_rate {self.maintenance_margin_rate} must be in (0, 1)")
        object.__setattr__(self, "holdings", tuple(self.holdings))
        object.__setattr__(self, "hedges", tuple(self.hedges))


@dataclass(frozen=True, slots=True)
class Scenario:
    """Relative price moves by base asset (0.1 = +10 %), funding settlements and a collateral haircut."""

    name: str
    default_move: float = 0.0  # for every asset not named in `moves`
    moves: Mapping[str, float] = field(default_factory=dict)
    funding_settlements: int = 0
    funding_rate: float = 0.0  # per settlement; 0.001 = 0.1 %
    equity_haircut: float = 0.0  # 0.2 = collateral valued 20 % lower

    def __post_init__(self) -> None:
        if any(move <= -1 for move in (self.default_move, *self.moves.values())):
            raise ValueError(f"scenario {self.name!r}: a move of −100 % or more leaves no price")
        if not 0 <= self.equity_haircut <= 1:
            raise ValueError(f"scenario {self.name!r}: equity_haircut {self.equity_haircut} is not in [0, 1]")
        if self.funding_settlements < 0:
            raise ValueError(f"scenario {self.name!r}: funding_settlements must not be negative")

    def move(self, asset: str) -> float:
        return self.moves.get(asset, self.default_move)


def _percent(fraction: float) -> str:
    """0.3 → "30%", 0.125 → "12.5%": the operator's own figure, not rounded to a whole percent."""
    return f"{fraction * 100:.4g}%"


def market_crash(fall: float) -> Scenario:
    """Every asset falls by `fall` (0.3 = −30 %) together: correlation 1."""
    return Scenario(f"all assets −{_percent(fall)}", default_move=-fall)


def btc_up_alts_down(btc_rise: float, alt_fall: float, btc: str = "BTC") -> Scenario:
    """The hedge's proxy rallies while the altcoins (and every other asset) fall: the hedge loses too."""
    others = f"others −{_percent(alt_fall)}" if alt_fall else "others unchanged"
    name = f"{btc} +{_percent(btc_rise)}, {others}"
    return Scenario(name, default_move=-alt_fall, moves={btc: btc_rise})


def funding_spike(settlements: int, rate: float) -> Scenario:
    """`settlements` fundings at `rate` each; negative rates are paid by shorts."""
    sign = "−" if rate < 0 else "+"  # the same minus as the other names
    name = f"funding {sign}{_percent(abs(rate))} × {settlements}"
    return Scenario(name, funding_settlements=settlements, funding_rate=rate)


def margin_haircut(haircut: float) -> Scenario:
    return Scenario(f"collateral haircut −{_percent(haircut)}", equity_haircut=haircut)


@dataclass(frozen=True, slots=True)
class ShockSizes:
    """The operator's shock sizes (`hedgebot stress --drop 30 ...`), as fractions; the defaults are these."""

    drops: tuple[float, ...] = (0.2, 0.4)  # every asset −X % together, one scenario each
    btc_rise: float = 0.1
    alt_fall: float = 0.2
    funding_rate: float = -0.003  # per settlement; negative: the short hedge pays
    settlements: int = 9  # three days of 8-hour settlements
    haircut: float = 0.2


def default_scenarios(sizes: ShockSizes | None = None) -> tuple[Scenario, ...]:
    """Today, the crashes, a BTC squeeze against the altcoins, adverse funding, a haircut (default: two
    crashes of 20 and 40 %, BTC +10 % with the rest −20 %, nine settlements at −0.3 %, a 20 % haircut)."""
    s = ShockSizes() if sizes is None else sizes
    return (
        Scenario("now"),
        *(market_crash(drop) for drop in s.drops),
        btc_up_alts_down(s.btc_rise, s.alt_fall),
        funding_spike(s.settlements, s.funding_rate),
        margin_haircut(s.haircut),
    )


def historical_scenario(name: str, path: Sequence[tuple[str, Mapping[str, float]]], book: Book) -> Scenario:
    """A real price path replayed on this book, at its worst point: each asset's move from the path's first
    prices to the instant (label) the book's holdings were worth least. An asset the path does not price there
    (listed later, or not in the data) takes the mean move of the book's assets it does price."""
    if not path:
        raise ValueError(f"scenario {name!r}: the price path is empty")
    first = path[0][1]
    values = {h.asset: h.qty * h.price for h in book.holdings}

    def moves_at(prices: Mapping[str, float]) -> dict[str, float]:
        return {a: prices[a] / first[a] - 1 for a in prices if a in first and first[a] > 0 and prices[a] > 0}

    def book_move(prices: Mapping[str, float]) -> float:
        moves = moves_at(prices)
        return sum(value * moves.get(asset, 0.0) for asset, value in values.items())

    label, worst = min(path, key=lambda point: book_move(point[1]))
    moves = moves_at(worst)
    priced = [moves[a] for a in values if a in moves]
    default = sum(priced) / len(priced) if priced else 0.0
    missing = sorted(a for a in values if a not in moves)
    note = f"; {', '.join(missing)} unpriced: mean move" if missing else ""
    return Scenario(f"{name} (to {label}{note})", default_move=default, moves=moves)


# ---- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiquidationDistance:
    """How far the position's underlying may move before the account reaches maintenance margin.

    `move` is relative to the post-scenario price (+0.25: liquidated if it rises 25 %); 0.0 when the account
    is already at or below maintenance; None when no price move of this underlying alone liquidates it.
    """

    symbol: Symbol
    asset: str
    move: float | None
    price: float | None


@dataclass(frozen=True, slots=True)
class StressResult:
    scenario: str
    loss_unhedged: float  # + = loss, quote currency
    loss_hedged: float  # spot loss − hedge P&L − funding
    hedge_pnl: float
    funding: float  # + = received
    equity_after: float
    maintenance_after: float
    margin_ratio_after: float  # equity / maintenance; +inf with no positions; below 1 means liquidation
    headroom_after: float  # equity − maintenance: what the account can still lose
    liquidation: tuple[LiquidationDistance, ...]

    @property
    def liquidated(self) -> bool:
        return self.margin_ratio_after < 1.0


def run_stress(book: Book, scenarios: Iterable[Scenario] | None = None) -> tuple[StressResult, ...]:
    chosen = default_scenarios() if scenarios is None else scenarios
    return tuple(stress(book, scenario) for scenario in chosen)


def stress(book: Book, scenario: Scenario) -> StressResult:
    spot_loss = sum(h.qty * h.price * -scenario.move(h.asset) for h in book.holdings)
    after = [(p, p.price * (1 + scenario.move(p.instrument.base))) for p in book.hedges]
    hedge_pnl = sum(p.notional(price) - p.notional(p.price) for p, price in after)
    funding = sum(
        -p.notional(price) * scenario.funding_rate * scenario.funding_settlements
        for p, price in after
        if p.instrument.kind is InstrumentKind.PERPETUAL
    )
    equity = book.equity * (1 - scenario.equity_haircut) + hedge_pnl + funding
    rate = book.maintenance_margin_rate
    maintenance = rate * sum(abs(p.notional(price)) for p, price in after)
    return StressResult(
        scenario=scenario.name,
        loss_unhedged=spot_loss,
        loss_hedged=spot_loss - hedge_pnl - funding,
        hedge_pnl=hedge_pnl,
        funding=funding,
        equity_after=equity,
        maintenance_after=maintenance,
        margin_ratio_after=equity / maintenance if maintenance > 0 else math.inf,
        headroom_after=equity - maintenance,
        liquidation=_liquidation(after, equity, maintenance, rate),
    )


def _liquidation(
    marked: Sequence[tuple[HedgePosition, float]], equity: float, maintenance: float, rate: float
) -> tuple[LiquidationDistance, ...]:
    signed: dict[str, float] = {}
    gross: dict[str, float] = {}
    for position, price in marked:
        base = position.instrument.base
        signed[base] = signed.get(base, 0.0) + position.notional(price)
        gross[base] = gross.get(base, 0.0) + abs(position.notional(price))
    distances = []
    for position, price in marked:
        base = position.instrument.base
        move = _move_to_maintenance(equity, maintenance, signed[base], gross[base] * rate)
        at = None if move is None else price * (1 + move)
        distances.append(LiquidationDistance(position.instrument.symbol, base, move, at))
    return tuple(distances)


def _move_to_maintenance(equity: float, maintenance: float, signed: float, gross_mm: float) -> float | None:
    if maintenance > 0 and equity <= maintenance:
        return 0.0
    slope = signed - gross_mm  # d(equity − maintenance) / d(move)
    if slope == 0:
        return None
    move = (maintenance - equity) / slope
    return move if move > -1 else None  # a price cannot fall through zero


def _check_price(name: str, price: float) -> None:
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"{name}: price {price!r} is not a finite positive number")


# ---- the table --------------------------------------------------------------------------------------

_COLUMNS = ("scenario", "loss unhedged", "loss hedged", "equity after", "margin ratio", "headroom")


def format_stress(results: Sequence[StressResult]) -> str:
    """A fixed-width table, one row per scenario, then each scenario's liquidation distances."""
    rows = [
        (
            r.scenario,
            f"{r.loss_unhedged:,.2f}",
            f"{r.loss_hedged:,.2f}",
            f"{r.equity_after:,.2f}",
            _ratio(r.margin_ratio_after),
            f"{r.headroom_after:,.2f}",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    lines = [line(_COLUMNS), line(["-" * w for w in widths]), *(line(row) for row in rows)]
    lines.append("")
    lines.append("liquidation distance (move of the underlying from the post-scenario price):")
    for r in results:
        lines.append(f"  {r.scenario}: {_distances(r)}")
    return "\n".join(lines)


def _ratio(value: float) -> str:
    if math.isinf(value):
        return "no positions"
    return f"{value:,.2f}" + (" LIQUIDATED" if value < 1 else "")


def _distances(result: StressResult) -> str:
    if not result.liquidation:
        return "no positions"
    return "; ".join(f"{d.symbol} {_distance(d)}" for d in result.liquidation)


def _distance(d: LiquidationDistance) -> str:
    if d.move is None or d.price is None:
        return "not reachable"
    return f"{d.move:+.1%} at {d.price:,.2f}"
