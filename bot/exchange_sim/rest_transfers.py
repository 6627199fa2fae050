"""The signed wallet-transfer REST handlers (POST / GET /sapi/v1/asset/transfer, see transfers.py). Pure."""

from __future__ import annotations

from bot.exchange_sim.exchange import SimExchange
from bot.exchange_sim.transfers import Answer, FuturesWallet, Params, parse_amount, required


def post_transfer(ex: SimExchange, params: Params) -> Answer:
    kind, asset, amount = required(params, "type"), required(params, "asset"), parse_amount(params)
    engine = ex.transfers.futures_engine(kind, asset, ex)  # USDⓈ-M's wallet, or the asset's COIN-M one
    record = ex.transfers.transfer(FuturesWallet(engine.account), kind, asset, amount, ex.now_ms)
    engine.report_balance_change("DEPOSIT" if record.type.endswith("FUTURE") else "WITHDRAW")
    return {"tranId": record.tran_id}


def get_transfers(ex: SimExchange, params: Params) -> Answer:
    return ex.transfers.listed(params)
