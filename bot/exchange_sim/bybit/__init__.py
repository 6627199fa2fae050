"""The loopback exchange's Bybit v5 dialect: REST and websockets over the same core as the Binance one.

`BybitSim` (server.py) is the simulator with Bybit's routes: public market data, signed trading and account
endpoints (rest_market.py, rest_trade.py, payloads.py), error codes ccxt maps (errors.py), request and
websocket signing (auth.py), and the public and private topics (streams.py).
"""

from bot.exchange_sim.bybit.server import BybitSim

__all__ = ["BybitSim"]
