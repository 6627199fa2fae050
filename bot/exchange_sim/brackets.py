"""Binance's notional and leverage brackets: the tables live in the core (`bot.risk.brackets`), which the
collateral buffer and the paper venue read too; the loopback exchange serves the same ones."""

from bot.risk.brackets import Bracket as Bracket
from bot.risk.brackets import BracketTable as BracketTable
from bot.risk.brackets import build_table as build_table
