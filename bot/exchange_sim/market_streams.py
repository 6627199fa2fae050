"""What each market stream carries, built from the exchange's state at one publishing moment. Pure.

Streams (ids lower case): `<id>@markPrice[@1s]`, `<id>@bookTicker`, `<id>@miniTicker`, `<id>@ticker`,
`<id>@depth[@100ms|@250ms|@500ms|@0ms]` (diffs with update ids), `<id>@depth<5|10|20>[@…]` (partial book),
`<id>@aggTrade`, `<id>@trade`, `<id>@kline_<interval>`, and the all-market `!markPrice@arr[@1s]`,
`!bookTicker`, `!miniTicker@arr`, `!ticker@arr`. A moment (`Moment`) holds what happened since the last
one: the contracts whose prices moved, the new prints of each tape and the depth diffs stamped, each handed
out once so two streams of one contract see the same events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.exchange_sim import payloads
from bot.exchange_sim.candles import INTERVALS_MS
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.tape import PublicTrade

Payload = dict[str, Any] | list[dict[str, Any]]
_PARTIAL_DEPTHS = frozenset({"depth5", "depth10", "depth20"})


@dataclass(slots=True)
class Moment:
    moved: dict[str, Contract]
    trades: dict[str, list[PublicTrade]] = field(default_factory=dict)
    diffs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.moved and not any(self.trades.values()) and not any(self.diffs.values())


def channel_of(stream: str) -> tuple[str, str]:
    """("btcusdt", "depth") from "btcusdt@depth@100ms"; ("!markprice", "arr") style for all-market names."""
    name, _, rest = stream.partition("@")
    return name.lower(), rest.split("@", 1)[0]


def wants_depth(streams: set[str], contract: Contract) -> bool:
    prefix = contract.id.lower() + "@depth"
    return any(s.lower().startswith(prefix) for s in streams)


class MarketStreams:
    def __init__(self, exchange: SimExchange) -> None:
        self.exchange = exchange
        self._book_update_id = 0

    def moment(self, moved: list[Contract], streams: set[str]) -> Moment:
        """Collect what happened: stamp the books someone follows, take the new prints and diffs."""
        public = self.exchange.public
        for contract in moved:
            if wants_depth(streams, contract):
                public.stamp_depth(contract)
        moment = Moment({c.id: c for c in moved})
        for contract in self.exchange.catalog.all():
            prints = public.tape(contract).drain_unpublished()
            diffs = public.depth.drain_diffs(contract.id)
            if prints:
                moment.trades[contract.id] = prints
            if diffs:
                moment.diffs[contract.id] = diffs
        return moment

    def snapshot(self, stream: str) -> list[Payload]:
        """What a new subscriber gets at once: the current value of value streams, no past events."""
        now = self.exchange.catalog.trading(self.exchange.now_ms)
        return self.payloads(stream, Moment({c.id: c for c in now}))

    def payloads(self, stream: str, moment: Moment) -> list[Payload]:
        name, channel = channel_of(stream)
        if name.startswith("!"):
            contracts = list(moment.moved.values())
            items = [p for c in contracts if (p := self._value(name[1:], c)) is not None]
            return list(items) if name == "!bookticker" else ([items] if items else [])
        contract = self.exchange.catalog.by_id(name)
        if contract is None:
            return []
        if channel == "depth":
            return list(moment.diffs.get(contract.id, []))
        if channel in ("aggTrade", "trade"):
            return [self._trade_event(channel, contract, t) for t in moment.trades.get(contract.id, [])]
        if contract.id not in moment.moved:
            return []
        if channel in _PARTIAL_DEPTHS:
            return [self._partial_depth(contract, int(channel[len("depth") :]))]
        if channel.startswith("kline_"):
            event = self._kline(contract, channel[len("kline_") :])
            return [event] if event is not None else []
        value = self._value(channel.lower(), contract)
        return [value] if value is not None else []

    def _value(self, channel: str, contract: Contract) -> dict[str, Any] | None:
        market = self.exchange.market
        if channel == "markprice":
            return payloads.mark_price_update(market, contract)
        if channel == "bookticker":
            self._book_update_id += 1
            return payloads.book_ticker(market, contract, self._book_update_id)
        if channel == "miniticker":
            return payloads.mini_ticker(market, contract)
        if channel == "ticker":
            return payloads.full_ticker(market, contract)
        return None

    def _trade_event(self, channel: str, c: Contract, t: PublicTrade) -> dict[str, Any]:
        now, price, size = self.exchange.now_ms, payloads.px(c, t.price), payloads.qty(c, t.qty)
        if channel == "trade":
            return {"e": "trade", "E": now, "T": t.time_ms, "s": c.id, "t": t.trade_id, "p": price, "q": size,
                    "X": "MARKET", "m": t.buyer_maker}  # fmt: skip
        return {"e": "aggTrade", "E": now, "s": c.id, "a": t.trade_id, "p": price, "q": size, "nq": size,
                "f": t.trade_id, "l": t.trade_id, "T": t.time_ms, "m": t.buyer_maker}  # fmt: skip

    def _partial_depth(self, contract: Contract, levels: int) -> dict[str, Any]:
        public, now = self.exchange.public, self.exchange.now_ms
        update_id = public.stamp_depth(contract)
        bids, asks = public.levels(contract)
        return {
            "e": "depthUpdate", "E": now, "T": now, "s": contract.id, "U": update_id, "u": update_id,
            "pu": update_id, "b": [[p, q] for p, q in bids.items()][:levels],
            "a": [[p, q] for p, q in asks.items()][:levels],
        }  # fmt: skip

    def _kline(self, c: Contract, interval: str) -> dict[str, Any] | None:
        step = INTERVALS_MS.get(interval)
        if step is None:
            return None
        now = self.exchange.now_ms
        candles = self.exchange.market.candles(c).klines(step, now - now % step, None, 1)
        if not candles:
            return None
        k = candles[-1]
        tape = self.exchange.public.tape(c).window(k.open_ms, k.open_ms + step - 1)
        first, last = (tape[0].trade_id, tape[-1].trade_id) if tape else (-1, -1)
        px, qty = payloads.px, payloads.qty
        body = {
            "t": k.open_ms, "T": k.open_ms + step - 1, "s": c.id, "i": interval, "f": first, "L": last,
            "o": px(c, k.open), "c": px(c, k.close), "h": px(c, k.high), "l": px(c, k.low), "v": qty(c, k.volume),
            "n": k.trades, "x": False, "q": payloads.money(k.quote_volume), "V": "0", "Q": "0", "B": "0",
        }  # fmt: skip
        return {"e": "kline", "E": now, "s": c.id, "k": body}
