"""Public market-data REST handlers: tickers, depth, trades, klines, funding, open interest. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.exchange_sim import errors, payloads
from bot.exchange_sim.candles import INTERVALS_MS, Candle
from bot.exchange_sim.catalog import Contract
from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.orders import contract_of, int_param
from bot.exchange_sim.tape import PublicTrade

Params = Mapping[str, str]
Answer = dict[str, Any] | list[Any]
_DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


def _one_or_all(ex: SimExchange, params: Params, row: Callable[[Contract], dict[str, Any]]) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    if one is not None:
        return row(one)
    return [row(c) for c in ex.catalog.trading(ex.now_ms) if ex.market.mark(c)]


def ticker_24h(ex: SimExchange, params: Params) -> Answer:
    def row(c: Contract) -> dict[str, Any]:
        answer = payloads.ticker_24h(ex.market, c)
        day = ex.public.tape(c).window(ex.now_ms - 86_400_000, ex.now_ms)
        last = ex.public.tape(c).last
        answer["lastQty"] = payloads.qty(c, last.qty) if last else "0"
        answer["firstId"], answer["lastId"] = (day[0].trade_id, day[-1].trade_id) if day else (-1, -1)
        answer["count"] = len(day)
        return answer

    return _one_or_all(ex, params, row)


def ticker_price(ex: SimExchange, params: Params) -> Answer:
    return _one_or_all(
        ex, params, lambda c: {"symbol": c.id, "price": payloads.px(c, ex.market.mark(c) or 0.0), "time": ex.now_ms}
    )


def book_ticker(ex: SimExchange, params: Params) -> Answer:
    def row(c: Contract) -> dict[str, Any]:
        event = payloads.book_ticker(ex.market, c, ex.public.depth.update_id(c.id)) or {}
        return {"symbol": c.id, "bidPrice": event.get("b"), "bidQty": event.get("B"), "askPrice": event.get("a"),
                "askQty": event.get("A"), "time": ex.now_ms, "lastUpdateId": event.get("u")}  # fmt: skip

    return _one_or_all(ex, params, row)


def premium_index(ex: SimExchange, params: Params) -> Answer:
    return _one_or_all(ex, params, lambda c: payloads.premium_index(ex.market, c))


def depth(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    limit = int_param(params, "limit", 500) or 500
    if limit not in _DEPTH_LIMITS:
        raise errors.bad_request(-4021, f"Invalid depth limit; valid limits: {', '.join(map(str, _DEPTH_LIMITS))}.")
    update_id = ex.public.stamp_depth(contract)  # the snapshot's id: later diffs of the stream follow it
    bids, asks = ex.public.levels(contract)
    return {
        "lastUpdateId": update_id,
        "E": ex.now_ms,
        "T": ex.now_ms,
        "bids": [[p, q] for p, q in bids.items()][:limit],
        "asks": [[p, q] for p, q in asks.items()][:limit],
    }


def _trade_row(c: Contract, t: PublicTrade) -> dict[str, Any]:
    return {"id": t.trade_id, "price": payloads.px(c, t.price), "qty": payloads.qty(c, t.qty),
            "quoteQty": payloads.money(t.quote_qty), "time": t.time_ms, "isBuyerMaker": t.buyer_maker}  # fmt: skip


def trades(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    limit = int_param(params, "limit", 500, 1000) or 500
    return [_trade_row(contract, t) for t in ex.public.tape(contract).recent(limit)]


def historical_trades(ex: SimExchange, params: Params) -> Answer:
    """Older trades from `fromId` (Binance asks for the API key here, as for user-data streams)."""
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    limit = int_param(params, "limit", 500, 1000) or 500
    from_id = int_param(params, "fromId")
    chosen = ex.public.tape(contract).select(from_id, None, None, limit)
    return [_trade_row(contract, t) for t in chosen]


def agg_trades(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    limit = int_param(params, "limit", 500, 1000) or 500
    chosen = ex.public.tape(contract).select(
        int_param(params, "fromId"), int_param(params, "startTime"), int_param(params, "endTime"), limit
    )
    c = contract
    return [
        {"a": t.trade_id, "p": payloads.px(c, t.price), "q": payloads.qty(c, t.qty), "f": t.trade_id,
         "l": t.trade_id, "T": t.time_ms, "m": t.buyer_maker}
        for t in chosen
    ]  # fmt: skip


def _interval(params: Params) -> int:
    interval = params.get("interval", "")
    if interval not in INTERVALS_MS:
        raise (errors.bad_request(-1120, "Invalid interval.") if interval else errors.missing_parameter("interval"))
    return INTERVALS_MS[interval]


def _candles(ex: SimExchange, contract: Contract, params: Params, step: int) -> list[Candle]:
    limit = int_param(params, "limit", 500, 1500) or 500
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    history = ex.market.history
    if history is not None and history.covers(contract.id, step):  # a replay: the files' candles, before it too
        return history.klines(contract.id, step, start, end, limit, ex.now_ms)
    return ex.market.candles(contract).klines(step, start, end, limit)


def klines(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    step = _interval(params)
    c, px, qty, money = contract, payloads.px, payloads.qty, payloads.money
    return [
        [k.open_ms, px(c, k.open), px(c, k.high), px(c, k.low), px(c, k.close), qty(c, k.volume),
         k.open_ms + step - 1, money(k.quote_volume), k.trades, "0", "0", "0"]
        for k in _candles(ex, contract, params, step)
    ]  # fmt: skip


def continuous_klines(ex: SimExchange, params: Params) -> Answer:
    """By `pair` and `contractType`: the perpetual's (or listed quarterly's) klines."""
    pair, kind = params.get("pair", ""), params.get("contractType", "")
    if not pair or not kind:
        raise errors.missing_parameter("pair" if not pair else "contractType")
    chosen = [c for c in ex.catalog.trading(ex.now_ms) if c.pair == pair.upper()
              and ex.catalog.contract_type(c, ex.now_ms) == kind]  # fmt: skip
    if not chosen:
        raise errors.invalid_symbol()
    return klines(ex, {**params, "symbol": chosen[0].id})


def price_klines(ex: SimExchange, params: Params) -> Answer:
    """markPriceKlines, indexPriceKlines (by `pair`) and premiumIndexKlines: prices only, volumes "0".

    The mark's candles stand for all three (the simulator keeps no separate index or premium history);
    premiumIndexKlines are the mark's premium over the index at the close, which the market reports now.
    """
    pair = params.get("pair")
    contract = ex.catalog.by_id(pair) if pair else contract_of(params, ex.catalog)
    if contract is None:
        raise errors.invalid_symbol() if pair else errors.missing_parameter("symbol")
    step = _interval(params)
    c, px = contract, payloads.px
    return [
        [k.open_ms, px(c, k.open), px(c, k.high), px(c, k.low), px(c, k.close), "0", k.open_ms + step - 1, "0", 0,
         "0", "0", "0"]
        for k in _candles(ex, contract, params, step)
    ]  # fmt: skip


def premium_klines(ex: SimExchange, params: Params) -> Answer:
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    step = _interval(params)
    index = ex.market.index(contract) or 0.0
    rows = []
    for k in _candles(ex, contract, params, step):
        premium = [(v - index) / index if index else 0.0 for v in (k.open, k.high, k.low, k.close)]
        rows.append([k.open_ms, *(f"{p:.8f}" for p in premium), "0", k.open_ms + step - 1, "0", 0, "0", "0", "0"])
    return rows


def funding_rate(ex: SimExchange, params: Params) -> Answer:
    one = contract_of(params, ex.catalog, required=False)
    start, end = int_param(params, "startTime"), int_param(params, "endTime")
    limit = int_param(params, "limit", 100, 1000) or 100
    rows = []
    for contract in [one] if one is not None else ex.catalog.all():
        state = ex.market.funding(contract)
        for due in state.history if state else []:
            if (start is None or due.ts >= start) and (end is None or due.ts <= end):
                rows.append({"symbol": contract.id, "fundingTime": due.ts, "fundingRate": f"{due.rate:.8f}",
                             "markPrice": payloads.px(contract, due.mark)})  # fmt: skip
    rows.sort(key=lambda r: (r["fundingTime"], r["symbol"]))
    return rows[:limit] if start is not None else rows[-limit:]


def funding_info(ex: SimExchange, params: Params) -> Answer:
    rows = []
    for c in ex.catalog.trading(ex.now_ms):
        state = ex.market.funding(c)
        if state is not None:
            hours = state.interval_ms // 3_600_000
            rows.append({"symbol": c.id, "adjustedFundingRateCap": "0.03000000",
                         "adjustedFundingRateFloor": "-0.03000000", "fundingIntervalHours": hours,
                         "disclaimer": False})  # fmt: skip
    return rows


def open_interest(ex: SimExchange, params: Params) -> Answer:
    """The account is the only holder of record: open interest is its position's size."""
    contract = contract_of(params, ex.catalog)
    assert contract is not None
    held = abs(ex.account.position(contract.symbol).qty)
    return {"openInterest": payloads.qty(contract, held), "symbol": contract.id, "time": ex.now_ms}
