"""`[venues.<id>]`: hedge legs on more than one derivatives venue. Pure string rules, checked at `check-config`.

`[venue]` is the default venue, id `main` (DEFAULT_VENUE): it holds every hedge instrument no `[venues.<id>]`
table lists, so a config without `[venues]` (every config before them) trades one venue as it always did, and a
journal written before them is the default venue's. Each `[venues.<id>]` is a whole venue of its own (exchange,
endpoint, keys, margin mode, leverage, dead-man switch) plus `instruments`, the `[hedge] instruments` it trades.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_VENUE = "main"  # the id of `[venue]`, and of every journal row written before `[venues]` existed
VENUE_ID = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class VenueKeys:
    """What two venues must not share: where their keys come from (the rest may be alike)."""

    exchange: str
    key_env: str
    secret_env: str
    key_file: str | None
    secret_file: str | None


def check_venues(
    hedge_instruments: Sequence[str],
    default: VenueKeys,
    others: Mapping[str, tuple[VenueKeys, Sequence[str]]],
    *,
    live: bool,
    candidates: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """ValueError, one line, for a venue id that is not a plain name (or is the default's), an instrument listed
    on no hedge leg, on two venues or twice, a venue with no instrument, and (live) two venues reading their keys
    from the same variable or file: each venue trades with its own account's keys."""
    placed: dict[str, str] = {}
    for venue_id, (_keys, instruments) in others.items():
        if not VENUE_ID.fullmatch(venue_id) or venue_id == DEFAULT_VENUE:
            raise ValueError(
                f"venues.{venue_id}: a venue id is a lower-case name like 'second' (letters, digits, '_', '-'),"
                f" not {DEFAULT_VENUE!r}, the id of [venue]"
            )
        if not instruments and not (candidates or {}).get(venue_id):
            raise ValueError(f"venues.{venue_id}.instruments: name the [hedge] instruments this venue trades")
        for symbol in instruments:
            if symbol not in hedge_instruments:
                raise ValueError(
                    f"venues.{venue_id}.instruments: {symbol!r} is not one of [hedge] instruments"
                    f" {list(hedge_instruments)}"
                )
            if symbol in placed:
                where = "twice" if placed[symbol] == venue_id else f"on venues {placed[symbol]!r} and {venue_id!r}"
                raise ValueError(f"venues: {symbol!r} is listed {where}; each instrument trades on one venue")
            placed[symbol] = venue_id
    _candidates_apart(hedge_instruments, placed, candidates or {})
    if live:
        _keys_apart({DEFAULT_VENUE: default, **{venue_id: keys for venue_id, (keys, _) in others.items()}})


def _keys_apart(keys: Mapping[str, VenueKeys]) -> None:
    seen: dict[str, str] = {}
    for venue_id, venue in keys.items():
        sources = [f"variable {venue.key_env}", f"variable {venue.secret_env}"]
        sources += [f"file {path}" for path in (venue.key_file, venue.secret_file) if path]
        for source in sources:
            if source in seen and seen[source] != venue_id:
                raise ValueError(
                    f"{_table(venue_id)} reads its API key from the same {source} as {_table(seen[source])}:"
                    " give each venue its own api_key_env / api_secret_env (or files)"
                )
            seen[source] = venue_id


def _candidates_apart(
    hedge_instruments: Sequence[str], placed: Mapping[str, str], candidates: Mapping[str, Sequence[str]]
) -> None:
    """`candidates`: [hedge] instruments, each once per venue, none placed by an `instruments` list too."""
    for venue_id, listed in candidates.items():
        for symbol in listed:
            if symbol not in hedge_instruments:
                raise ValueError(
                    f"venues.{venue_id}.candidates: {symbol!r} is not one of [hedge] instruments"
                    f" {list(hedge_instruments)}"
                )
            if symbol in placed:
                raise ValueError(
                    f"venues.{venue_id}.candidates: {symbol!r} is placed on venue {placed[symbol]!r} by its"
                    " instruments; list it in instruments (placed) or in candidates (chosen by cost at start), not both"
                )
            if list(listed).count(symbol) > 1:
                raise ValueError(f"venues.{venue_id}.candidates: {symbol!r} listed twice")


def _table(venue_id: str) -> str:
    return "[venue]" if venue_id == DEFAULT_VENUE else f"[venues.{venue_id}]"


def routes(others: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Each hedge instrument listed by a `[venues.<id>]` → that id (every other one is the default venue's)."""
    return {symbol: venue_id for venue_id, instruments in others.items() for symbol in instruments}
