"""A loopback exchange that speaks Binance USDⓈ-M futures, for end-to-end tests with the real ccxt client.

See `server.py` for the entry points (`ExchangeSim`, `serve`), `faults.py` for fault injection and
`client.py` for pointing ccxt at it.
"""

from bot.exchange_sim.client import ccxt_config
from bot.exchange_sim.faults import Faults
from bot.exchange_sim.server import ExchangeSim, ReceivedOrderRequest, serve
from bot.exchange_sim.settings import SimSettings

__all__ = ["ExchangeSim", "Faults", "ReceivedOrderRequest", "SimSettings", "ccxt_config", "serve"]
