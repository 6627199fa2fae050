"""The daemon's status as a short block for people (`hedgebot ctl status`), and one line per command answer.

Works on the JSON the API returns and tolerates keys that are missing or shaped unexpectedly, so a `ctl` of
another version still prints what it can instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain import readable_duration
from bot.report.text import utc

_NO_ITEMS: Mapping[str, Any] = {}


def status_text(status: Mapping[str, Any]) -> str:
    lines = [
        _state_line(status),
        _holds_line(status),
        _ratio_line(status),
        *_protection_lines(status),
        _money_line(status),
        _buffer_line(status),
        _margin_line(status),
        *_venue_lines(status),
        *_account_lines(status),
        *_tail_risk_lines(status),
        *_hedge_lines(status),
        *_roll_lines(status),
        *_carry_lines(status),
        _orders_line(status),
        _feeds_line(status),
        _decision_line(status),
        _counts_line(status),
    ]
    return "\n".join(lines)


def command_text(command: str, status: Mapping[str, Any]) -> str:
    """'pause: ok; state active, paused, 0 open orders, positions BTC/USDT:USDT -0.51'."""
    held = ", ".join(f"{symbol} {_num(qty)}" for symbol, qty in _mapping(status.get("positions")).items())
    paused = ", paused" if status.get("paused") is True else ""
    line = (
        f"{command}: ok; state {_text(status.get('state'))}{paused},"
        f" {_text(status.get('open_orders'))} open orders, positions {held or 'none'}"
    )
    return line + ("\n" + ratio_text(status) if command == "set-ratio" else "")


def ratio_text(status: Mapping[str, Any]) -> str:
    """What a set-ratio did: the ratio now, until when, what comes after, and whether the cap binds."""
    override = _mapping(status.get("ratio_override"))
    ratio = override.get("ratio", status.get("ratio"))
    text = f"ratio {_num(ratio)}"
    if override:
        text += f" until {_when(override.get('until'))}, then the config's {_num(status.get('config_ratio'))}"
        text += _market_time(status, override.get("until"))
    if _is_number(ratio) and ratio > 1 and status.get("allow_overhedge") is False:
        text += (
            "; capped: the hedge is held at 100 % of the exposure ([hedge] allow_overhedge = false),"
            " so a ratio above 1 covers no more than 1"
        )
    return text


def _market_time(status: Mapping[str, Any], until: Any) -> str:
    """On a sped-up paper run, durations (`--for`) run in market time: say so, with the span in wall time."""
    speed: Any = status.get("speed")
    now: Any = status.get("now")
    if not (_is_number(speed) and _is_number(until) and _is_number(now)) or speed <= 1:
        return ""
    wall = readable_duration(max(until - now, 0) / speed)
    return f" (market time: this run is sped up {speed:g}×, so that is {wall} of wall time from now)"


def audit_text(rows: Any) -> str:
    """The audit trail, newest first: 'time  operator (via)  command args  outcome  — reason'."""
    lines = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        args = row.get("args")
        shown = " ".join(f"{key}={value}" for key, value in args.items()) if isinstance(args, Mapping) else ""
        via = _text(row.get("via"), "")
        who = f"{_text(row.get('operator'))}" + (f" ({via})" if via else "")
        reason = _text(row.get("reason"), "")
        lines.append(
            f"{_text(row.get('time'))} UTC  {who:<22}  {(_text(row.get('command')) + ' ' + shown).strip():<24}"
            f"  {_text(row.get('outcome'))}" + (f"  — {reason}" if reason else "")
        )
    return "\n".join(lines) or "no operator commands yet"


def _state_line(status: Mapping[str, Any]) -> str:
    reason = _text(status.get("state_reason"), "")
    line = f"state      {_text(status.get('state'))}" + (f" ({reason})" if reason else "")
    if status.get("paused") is True:
        line += "; PAUSED by the operator"
    return line


def _holds_line(status: Mapping[str, Any]) -> str:
    """'holds      collateral reducing (margin ratio 1.85 below 2 ...); staleness reducing (...)'."""
    holds = status.get("holds")
    described = [
        f"{_text(hold.get('source'))} {_text(hold.get('state'))} ({_text(hold.get('reason'), '')})"
        for hold in (holds if isinstance(holds, list) else [])
        if isinstance(hold, Mapping)
    ]
    return "holds      " + ("; ".join(described) or "none")


def _buffer_line(status: Mapping[str, Any]) -> str:
    """'buffer     liquidation 34.5% away (a rally of the hedge instruments; basket +62.1%); step warn (warn 40%,
    top_up 30%, reduce 20%, floor 10%)'."""
    collateral = status.get("collateral")
    if not isinstance(collateral, Mapping):
        return "buffer     unknown"
    buffer, basket = collateral.get("buffer"), collateral.get("basket_move")
    line = "buffer     " + (
        f"liquidation {_num(buffer, '.1%')} away (the hedge instruments' prices moving together against the hedge"
        + (f"; basket {_num(basket, '+.1%')}" if _is_number(basket) else "")
        + ")"
        if _is_number(buffer)
        else "no move liquidates the hedge account"
    )
    steps = collateral.get("steps")
    named = (
        ", ".join(f"{_text(name)} {_num(value, '.0%')}" for name, value in steps.items())
        if isinstance(steps, Mapping)
        else ""
    )
    return line + f"; step {_text(collateral.get('step'))}" + (f" ({named})" if named else "")


def _margin_line(status: Mapping[str, Any]) -> str:
    """'margin     ratio 8.75 (equity / maintenance margin); liquidation BTC/USDT:USDT -1.1: liquidation at ...'."""
    ratio = status.get("margin_ratio")
    line = "margin     " + (
        f"ratio {_num(ratio, ',.2f')} (equity / maintenance margin)" if _is_number(ratio) else "no margin in use"
    )
    moves = status.get("liquidation")
    texts = [
        _text(move.get("text")) for move in (moves if isinstance(moves, list) else []) if isinstance(move, Mapping)
    ]
    return line + (f"; {'; '.join(texts)}" if texts else "")


def _ratio_line(status: Mapping[str, Any]) -> str:
    line = f"ratio      {_num(status.get('ratio'))}"
    override = status.get("ratio_override")
    if isinstance(override, Mapping):
        line += f" (operator override until {_when(override.get('until'))})"
    return line


def _protection_lines(status: Mapping[str, Any]) -> list[str]:
    """'floor      cppi: value 98,000.00, floor 85,000.00, cushion 13,000.00 (13.3 %), cover 0.47' (protective only)."""
    protection = status.get("protection")
    if not isinstance(protection, Mapping):
        return []
    share: Any = protection.get("cushion_share")
    percent = share * 100 if _is_number(share) else None
    return [
        f"floor      {_text(protection.get('policy'))}: value {_money(protection.get('protected_value'))},"
        f" floor {_money(protection.get('floor'))}, cushion {_money(protection.get('cushion'))}"
        f" ({_num(percent, '.1f')} %), cover {_num(protection.get('cover'), '.2f')}"
    ]


def _venue_lines(status: Mapping[str, Any]) -> list[str]:
    """`[venues]`: one line per venue, its state, legs, hedge notional, equity and buffer (bot.report.venues)."""
    lines = []
    for venue_id, row in _mapping(status.get("venues")).items():
        row = _mapping(row)
        state = "up" if row.get("state") == "up" else f"DOWN ({_text(row.get('reason'))})"
        buffer = row.get("buffer")
        buffer_text = f"{buffer:.1%} adverse move" if _is_number(buffer) else "none (no position)"
        legs = ", ".join(row.get("legs") or []) or "-"
        lines.append(
            f"venue      {venue_id} ({_text(row.get('exchange'))}) {state}: legs {legs},"
            f" notional {_money(row.get('notional'))}, equity {_money(row.get('equity'))}, buffer {buffer_text}"
        )
    return lines


def _account_lines(status: Mapping[str, Any]) -> list[str]:
    """`[[portfolio.accounts]]`: one line per account read as holdings (bot.report.accounts_status), e.g.
    'account    main (binance: spot, earn) read 12s ago, stream live (2 reconnects)'."""
    accounts = status.get("accounts")
    return [_account_line(_mapping(row)) for row in (accounts if isinstance(accounts, list) else ())]


def _account_line(row: Mapping[str, Any]) -> str:
    listed = row.get("wallets")
    wallets = ", ".join(str(w) for w in listed) if isinstance(listed, list) and listed else "-"
    age = row.get("read_age_s")
    read = f"read {age:g}s ago" if _is_number(age) else "not read yet"
    held = row.get("held")  # the hold is judged at each read: a stale account is held from its next one on
    stale = f", STALE past max_age {_num(row.get('max_age_s'))}s: " + (
        f"trading held {held}" if held else "held at its next read"
    )
    error = row.get("last_error")
    return (
        f"account    {_text(row.get('name'))} ({_text(row.get('exchange'))}: {wallets}) {read}"
        f"{stale if row.get('stale') else ''}, {_stream_text(_mapping(row.get('stream')))}"
        f"{f'; last error: {error}' if error else ''}"
    )


def _stream_text(stream: Mapping[str, Any]) -> str:
    if not stream.get("followed"):
        return "stream not followed (scheduled reads)"
    reconnects = stream.get("reconnects")
    state = "live" if stream.get("live") else "DOWN"
    return f"stream {state} ({_num(reconnects)} reconnects)"


def _tail_risk_lines(status: Mapping[str, Any]) -> list[str]:
    """'VaR 99 %  1 day, 720 samples: historical unhedged 4,100.00 (ES 5,200.00), hedged 1,300.00 (ES 1,700.00)'
    and the same line filtered; none before the estimator's window holds enough samples."""
    tail = status.get("tail_risk")
    if not isinstance(tail, Mapping):
        return []
    level: Any = tail.get("level")
    percent = _num(level * 100 if _is_number(level) else None, ".0f")
    head = f"VaR {percent} %  1 day, {_num(tail.get('samples'))} samples:"
    lines = []
    for method in ("historical", "filtered"):
        pairs = _mapping(tail.get(method))
        unhedged, hedged = _mapping(pairs.get("unhedged")), _mapping(pairs.get("hedged"))
        lines.append(
            f"{head if method == 'historical' else ' ' * len(head)} {method} unhedged {_money(unhedged.get('var'))}"
            f" (ES {_money(unhedged.get('es'))}), hedged {_money(hedged.get('var'))} (ES {_money(hedged.get('es'))})"
        )
    return lines


def _money_line(status: Mapping[str, Any]) -> str:
    headroom = _mapping(status.get("headroom"))
    return (
        f"exposure   {_money(status.get('exposure'))}   equity {_money(status.get('equity'))}"
        f"   leverage {_num(headroom.get('leverage'), '.2f')} of max {_num(headroom.get('max_leverage'))}"
    )


def _hedge_lines(status: Mapping[str, Any]) -> list[str]:
    positions = _mapping(status.get("positions"))
    targets = _mapping(status.get("targets"))
    symbols = sorted({*positions, *targets})
    if not symbols:
        return ["hedge      no positions, no targets yet"]
    width = max(len(symbol) for symbol in symbols)
    header = f"{'instrument'.ljust(width)}  {'position':>12}  {'target':>12}  {'target value':>14}"
    lines = [f"hedge      {header}"]
    for symbol in symbols:
        target = _mapping(targets.get(symbol))
        lines.append(
            f"           {symbol.ljust(width)}  {_num(positions.get(symbol, 0.0)):>12}"
            f"  {_num(target.get('qty')):>12}  {_money(target.get('notional')):>14}"
        )
    return lines


def _roll_lines(status: Mapping[str, Any]) -> list[str]:
    """'roll       ETH/USDT:USDT@quarterly: ETH/USDT:USDT-261225 → ETH/USDT:USDT-270326, 4 of 10 moved, ...'."""
    lines = []
    for spec, roll in _mapping(status.get("rolls")).items():
        roll = _mapping(roll)
        progress = f"{_size(roll.get('moved'))} of {_size(roll.get('near_start'))} moved"
        lines.append(
            f"roll       {spec}: {_text(roll.get('near'))} → {_text(roll.get('far'), 'closed')}, {progress},"
            f" cost so far {_money(roll.get('cost'))}, expiry {_when(roll.get('expiry'))}"
        )
    return lines


def _carry_lines(status: Mapping[str, Any]) -> list[str]:
    """'carry      BTC/USDT:USDT@carry on dated since …: funding +3.10%/y vs basis net of rolls +9.52%/y, …'."""
    lines = []
    for spec, leg in _mapping(_mapping(status.get("carry")).get("legs")).items():
        leg, look = _mapping(leg), _mapping(_mapping(leg).get("last_look"))
        since = f" since {_when(leg.get('since'))}" if leg.get("since") is not None else ""
        numbers = (
            f": funding {_num(look.get('funding_yield'), '+.2%')}/y vs basis net of rolls"
            f" {_num(look.get('dated_yield'), '+.2%')}/y, threshold {_num(look.get('threshold'), '.2%')}"
            if look
            else ": not looked at yet"
        )
        lines.append(f"carry      {spec} on {_text(leg.get('on'))}{since}{numbers}")
    return lines


def _orders_line(status: Mapping[str, Any]) -> str:
    working = status.get("working_parents")
    names = ", ".join(str(name) for name in working) if isinstance(working, list) else ""
    return f"orders     {_text(status.get('open_orders'))} open; working on: {names or 'nothing'}"


def _feeds_line(status: Mapping[str, Any]) -> str:
    ages = {symbol: age for symbol, age in _mapping(status.get("feed_age_s")).items() if _is_number(age)}
    if not ages:
        return "feeds      no prices yet"
    oldest = max(ages, key=lambda symbol: ages[symbol])
    if ages[oldest] < 0:  # a paced paper run replays market time faster than the wall clock
        return f"feeds      {len(ages)} prices, all stamped ahead of the wall clock (accelerated run)"
    return f"feeds      {len(ages)} prices, oldest {oldest} {ages[oldest]:g}s"


def _decision_line(status: Mapping[str, Any]) -> str:
    decision = status.get("last_decision")
    if not isinstance(decision, Mapping):
        warmup = _mapping(status.get("warmup"))
        samples, needs = warmup.get("samples"), warmup.get("needs")
        if isinstance(samples, int) and isinstance(needs, int) and samples < needs:  # why no decision yet
            return f"decision   none yet: warming up, {samples} of {needs} samples (hedge.min_samples)"
        return "decision   none yet"
    return (
        f"decision   {_when(decision.get('ts'))} {_text(decision.get('trigger'))}:"
        f" {_text(decision.get('reason'), '')} [{_text(decision.get('label') or decision.get('id'))}]"
    )


def _counts_line(status: Mapping[str, Any]) -> str:
    counts = _mapping(status.get("counts"))
    return "counts     " + (", ".join(f"{key} {_text(value)}" for key, value in counts.items()) or "-")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _NO_ITEMS


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: Any, spec: str = "g") -> str:
    return format(value, spec) if _is_number(value) else "-"


def _size(value: Any) -> str:
    """A quantity without its sign."""
    return _num(abs(value) if _is_number(value) else None)


def _money(value: Any) -> str:
    return _num(value, ",.2f")


def _text(value: Any, missing: str = "?") -> str:
    return missing if value is None else str(value)


def _when(ts: Any) -> str:
    if not isinstance(ts, int) or isinstance(ts, bool):
        return "?"
    try:
        return f"{utc(ts)} UTC"
    except (OverflowError, OSError, ValueError):  # a timestamp beyond what datetime can show
        return str(ts)
