from __future__ import annotations

import ccxt
import ccxt.async_support as ccxt_async

from bot.exchange_sim import ccxt_config


def test_the_config_points_every_futures_section_and_the_websocket_at_loopback() -> None:
    config = ccxt_config("http://127.0.0.1:8123/", "key", "secret", timeout_ms=500)
    api = config["urls"]["api"]
    assert api["fapiPrivateV3"] == "http://127.0.0.1:8123/fapi/v3"
    assert api["fapiData"] == "http://127.0.0.1:8123/futures/data"
    assert api["ws"] == {"linear": "ws://127.0.0.1:8123/ws"}
    assert (config["timeout"], config["options"]["fetchCurrencies"]) == (500, False)


def test_the_futures_error_table_is_merged_so_margin_errors_are_insufficient_funds() -> None:
    exchange = ccxt_async.binanceusdm(ccxt_config("http://127.0.0.1:1", "key", "secret"))
    assert exchange.exceptions["exact"]["-2019"] is ccxt.InsufficientFunds
    assert exchange.exceptions["exact"]["-4116"] is ccxt.InvalidOrder
    assert exchange.exceptions["exact"]["-2013"] is ccxt.OrderNotFound  # the shared table is kept
