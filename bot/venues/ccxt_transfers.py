"""Top-ups over ccxt: Binance's universal transfer from the spot or funding wallet into the futures account.

    transfer  -> client.transfer(code, amount, 'spot' | 'funding', 'swap')   POST /sapi/v1/asset/transfer
    history   -> client.fetch_transfers(code, None, 100, {'fromAccount': wallet, 'toAccount': 'swap'})
                                                                           GET /sapi/v1/asset/transfer

'swap' is ccxt's USDⓈ-M wallet (MAIN_UMFUTURE: stablecoins); on `binancecoinm` the account is COIN-M's wallet of
the settlement coin, 'inverse' (MAIN_CMFUTURE: the coin itself, the amount in that coin).

The transfer is sent as a state change (`Operation.CREATE`): a timeout is `UnknownOutcome`, resolved from the
history (bot.execution.transfers), never sent again. The API key needs Binance's "Permits Universal Transfer".
"""

from __future__ import annotations

from typing import Any

from bot.execution.transfers import VenueTransfer
from bot.execution.venue_errors import Retryable
from bot.risk.topup import ReserveWallet, TopUp
from bot.venues.ccxt_client import CcxtRest
from bot.venues.ccxt_errors import Operation

_FUTURES = {"binancecoinm": "inverse"}  # ccxt's account name for the futures wallet; 'swap' (USDⓈ-M) otherwise
_HISTORY_ROWS = 100  # Binance's largest page


async def transfer_in(rest: CcxtRest, currency: str, top_up: TopUp, now_ms: int) -> VenueTransfer:
    client = rest.client
    answer = await rest.call(Operation.CREATE, client.transfer, currency, top_up.amount, top_up.wallet, _futures(rest))
    venue_id = answer.get("id") if isinstance(answer, dict) else None
    if not venue_id:
        raise Retryable(f"transfer answer without an id: {answer!r}")  # it ran: the history resolves it
    return VenueTransfer(str(venue_id), top_up.amount, int(answer.get("timestamp") or now_ms), top_up.wallet)


async def transfers_in(rest: CcxtRest, currency: str, wallet: ReserveWallet) -> list[VenueTransfer]:
    params = {"fromAccount": wallet, "toAccount": _futures(rest)}
    rows = await rest.read(rest.client.fetch_transfers, currency, None, _HISTORY_ROWS, params)
    return [row for row in map(_row, rows, [wallet] * len(rows)) if row is not None]


def _futures(rest: CcxtRest) -> str:
    return _FUTURES.get(str(rest.client.id), "swap")


def _row(entry: Any, wallet: ReserveWallet) -> VenueTransfer | None:
    if not isinstance(entry, dict) or entry.get("status") not in ("ok", None) or entry.get("id") is None:
        return None
    return VenueTransfer(str(entry["id"]), float(entry.get("amount") or 0.0), int(entry.get("timestamp") or 0), wallet)
