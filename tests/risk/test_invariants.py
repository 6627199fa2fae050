"""For any sequence of prices, fills, equity, funding, account snapshots and operator holds, no clip passes
the pre-trade checks that breaches a limit in force, and in `halted` nothing passes at all."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.domain import MS_PER_MINUTE, AccountSnapshot, Instrument, InstrumentKind, Position, Symbol
from bot.risk import collateral, drawdown, staleness
from bot.risk.collateral import BufferSteps, CollateralMonitor, Step
from bot.risk.drawdown import DrawdownMonitor, LossLimits
from bot.risk.limits import Limits, OrderRateWindow, PreTradeState, check_clip, reduces_position
from bot.risk.staleness import StalenessLimits, check_staleness
from bot.risk.state import Governor, TradingState

BTC = Symbol("BTC/USDT:USDT")
ETH = Symbol("ETH/USDT:USDT")
SYMBOLS = (BTC, ETH)
INSTRUMENTS = {
    BTC: Instrument(BTC, "BTC", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.001, min_notional=5.0),
    ETH: Instrument(ETH, "ETH", "USDT", InstrumentKind.PERPETUAL, settle="USDT", lot_step=0.01, min_notional=5.0),
}
LIMITS = Limits(
    max_leverage=2.0,
    max_instrument_leverage=1.5,
    max_position_notional=60_000.0,
    max_order_notional=15_000.0,
    max_orders_per_minute=5,
    price_band_bps=50.0,
    max_price_age_ms=2 * MS_PER_MINUTE,
)
GATES = StalenessLimits(
    max_price_age_ms=2 * MS_PER_MINUTE, max_funding_age_ms=8 * MS_PER_MINUTE, max_account_age_ms=5 * MS_PER_MINUTE
)
# wide steps, so the collateral ladder is reached within a few events
MARGIN = BufferSteps(warn=0.9, top_up=0.6, reduce=0.4, floor=0.25, hysteresis=0.05)
LOSSES = LossLimits(0.10, 0.25, 0.30, 0.50, on_breach=TradingState.HALTED)
MAINTENANCE_RATE = 0.05  # high, so the collateral steps are reached within a few events
SPOT_BTC = 2.0  # the portfolio: two BTC worth of spot altcoins, tracking BTC


@dataclass
class World:
    """Everything the pre-trade checks and the monitors look at, as the engine would hold it."""

    now: int = 0
    marks: dict[Symbol, float] = field(default_factory=lambda: {BTC: 50_000.0, ETH: 2_500.0})
    mark_ts: dict[Symbol, int] = field(default_factory=lambda: {BTC: 0, ETH: 0})
    funding_ts: dict[Symbol, int | None] = field(default_factory=lambda: {BTC: 0, ETH: 0})
    account_ts: int | None = 0
    positions: dict[Symbol, float] = field(default_factory=lambda: {BTC: 0.0, ETH: 0.0})
    equity: float = 20_000.0
    governor: Governor = field(default_factory=Governor)
    rate: OrderRateWindow = field(default_factory=OrderRateWindow)
    collateral: CollateralMonitor = field(default_factory=lambda: CollateralMonitor(MARGIN))
    drawdown: DrawdownMonitor = field(default_factory=lambda: DrawdownMonitor(LOSSES))
    step: Step = Step.OK

    def notional(self, symbol: Symbol, qty: float) -> float:
        return abs(INSTRUMENTS[symbol].notional(qty, self.marks[symbol]))

    def gross(self) -> float:
        return sum(self.notional(s, q) for s, q in self.positions.items())

    def govern(self, source: str, state: TradingState | None, reason: str) -> None:
        if state is None:
            self.governor.release(source, self.now)
        else:
            self.governor.hold(source, state, reason, self.now)

    def snapshot(self) -> None:
        """The venue reports the account: the collateral and max-loss monitors hold or release."""
        self.account_ts = self.now
        positions = tuple(Position(s, q) for s, q in self.positions.items() if q)
        account = AccountSnapshot(
            self.now, "USDT", self.equity, self.equity, 0.0, MAINTENANCE_RATE * self.gross(), positions
        )
        escalation = self.collateral.update(self.now, account, self.marks, INSTRUMENTS)
        self.step = escalation.step
        self.govern(collateral.SOURCE, escalation.hold_state, escalation.reason)
        breach = self.drawdown.update(self.now, self.equity, SPOT_BTC * self.marks[BTC] + self.equity)
        self.govern(drawdown.SOURCE, None if breach is None else breach.state, "" if breach is None else breach.reason)

    def gate(self) -> None:
        gate = check_staleness(self.now, GATES, self.mark_ts, self.funding_ts, self.account_ts)
        self.govern(staleness.SOURCE, gate.hold_state, gate.reason)


@dataclass(frozen=True)
class Move:
    symbol: Symbol
    change: float


@dataclass(frozen=True)
class Tick:
    ms: int


@dataclass(frozen=True)
class Adopt:
    """A position changed outside our clips: adopted from the venue, as start-up reconciliation does."""

    symbol: Symbol
    scale: float


@dataclass(frozen=True)
class EquityMoved:
    factor: float


@dataclass(frozen=True)
class FundingSeen:
    symbol: Symbol


@dataclass(frozen=True)
class AccountSeen:
    pass


@dataclass(frozen=True)
class OperatorHold:
    state: TradingState | None  # None: resume


@dataclass(frozen=True)
class Clip:
    """A clip of some 20,000 of notional times `scale`, or with `cut` that share of the position, reversed."""

    symbol: Symbol
    scale: float
    offset_bps: float
    cut: bool = False

    def qty(self, world: World) -> float:
        decimals = 3 if self.symbol == BTC else 2
        if self.cut:
            return -round(world.positions[self.symbol] * self.scale, decimals)
        return round(self.scale * 20_000 / world.marks[self.symbol], decimals)


Event = Move | Tick | Adopt | EquityMoved | FundingSeen | AccountSeen | OperatorHold | Clip
_symbol = st.sampled_from(SYMBOLS)
_clips = st.one_of(
    st.builds(Clip, _symbol, st.floats(-1.5, 1.5), st.floats(-80, 80)),
    st.builds(Clip, _symbol, st.floats(-1.5, 1.5), st.just(0.0)),
    st.builds(Clip, _symbol, st.floats(0.05, 1.0), st.floats(-30, 30), cut=st.just(True)),
)
_events: st.SearchStrategy[Event] = st.one_of(
    _clips,  # clips are half of all events: the point is what passes
    st.one_of(
        st.builds(Move, _symbol, st.floats(-0.08, 0.08)),
        st.builds(Tick, st.integers(100, 20_000) | st.integers(20_000, 6 * MS_PER_MINUTE)),  # bursts and lulls
        st.builds(Adopt, _symbol, st.floats(-1.0, 1.0)),
        st.builds(EquityMoved, st.floats(0.5, 1.3)),
        st.builds(FundingSeen, _symbol),
        st.builds(AccountSeen),
        st.builds(OperatorHold, st.sampled_from([None, TradingState.REDUCING, TradingState.HALTED])),
    ),
)


def _apply(world: World, happened: Event) -> None:
    if isinstance(happened, Move):
        world.marks[happened.symbol] *= 1 + happened.change
        world.mark_ts[happened.symbol] = world.now
    elif isinstance(happened, Tick):
        world.now += happened.ms
    elif isinstance(happened, Adopt):
        world.positions[happened.symbol] += round(happened.scale * 20_000 / world.marks[happened.symbol], 2)
    elif isinstance(happened, EquityMoved):
        world.equity *= happened.factor
    elif isinstance(happened, FundingSeen):
        world.funding_ts[happened.symbol] = world.now
    elif isinstance(happened, AccountSeen):
        world.snapshot()
    elif isinstance(happened, OperatorHold):
        world.govern("operator", happened.state, "operator")
    world.gate()
    if isinstance(happened, Clip):
        _propose(world, happened.symbol, happened.qty(world), happened.offset_bps)


def _propose(world: World, symbol: Symbol, qty: float, offset_bps: float) -> None:
    """Send one clip through the checks and assert what passes keeps every limit in force."""
    instrument, mark = INSTRUMENTS[symbol], world.marks[symbol]
    if qty == 0:
        return
    order_price = mark * (1 + offset_bps / 1e4)
    trading = world.governor.state
    sent_last_minute = world.rate.count(world.now)
    state = PreTradeState(
        world.now, trading, world.positions, world.marks, world.mark_ts, INSTRUMENTS, world.equity, sent_last_minute
    )
    allowed = check_clip(instrument, qty, order_price, state, LIMITS).qty
    _assert_governor_reflects_the_monitors(world)
    event(f"clip {'blocked' if allowed == 0 else 'passed'} while {trading}")  # the mix: --hypothesis-show-statistics
    if allowed == 0:
        return
    position = world.positions[symbol]
    assert trading is not TradingState.HALTED, "halted lets nothing but cancels through"
    assert trading is TradingState.ACTIVE or reduces_position(position, allowed), "reducing: only reducing orders"
    assert world.now - world.mark_ts[symbol] <= LIMITS.max_price_age_ms
    assert sent_last_minute < LIMITS.max_orders_per_minute
    assert (order_price / mark - 1) * 1e4 * (1 if allowed > 0 else -1) <= LIMITS.price_band_bps + 1e-9
    if not reduces_position(position, allowed):
        slack = 1 + 1e-6
        after = world.notional(symbol, position + allowed)
        others = world.gross() - world.notional(symbol, position)
        assert abs(allowed) * max(mark, order_price) <= LIMITS.max_order_notional * slack
        assert after <= LIMITS.max_position_notional * slack
        assert after <= LIMITS.max_instrument_leverage * world.equity * slack
        assert after + others <= LIMITS.max_leverage * world.equity * slack
    world.positions[symbol] = round(position + allowed, 3)
    world.rate.record(world.now)


def _assert_governor_reflects_the_monitors(world: World) -> None:
    state = world.governor.state
    if world.step is Step.FLOOR or world.drawdown.breaches:
        assert state is TradingState.HALTED
    elif world.step >= Step.TOP_UP:
        assert state >= TradingState.REDUCING


@settings(max_examples=300)
@given(st.lists(_events, min_size=20, max_size=80))
def test_no_clip_that_passes_breaches_a_limit_in_force_and_halted_passes_nothing(events: list[Event]) -> None:
    world = World()
    world.snapshot()
    for happened in events:
        _apply(world, happened)
