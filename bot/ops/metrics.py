"""Prometheus metrics of the running daemon, and the small HTTP server that exposes them.

    GET /metrics   text exposition format (every metric is prefixed `hedgebot_`)
    GET /healthz   alive: 200 "ok" while the event loop answers (a failing one calls for a restart)
    GET /readyz    ready to hedge: 200 "ready" once the session has started (`set_ready(True)`: start-up
                   reconciliation attempted, the feed running) and while trading is not halted; 503 with the
                   reason otherwise: "not ready: starting", "not ready: stopping", or "not ready: trading
                   halted: <reason>" (a failed reconciliation, the kill switch, ...). A halted daemon is alive
                   and retries on its own: it wants an operator's look, not a restart.

Each `Metrics` owns its own `CollectorRegistry`, never the process-global one, so a test (or two daemons in
one process) can make as many as it likes. Money values are in the portfolio's quote currency.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from bot.config import MetricsSection as MetricsSection  # the settings live with the config
from bot.risk.state import TradingState
from bot.secrets import redact
from bot.settings.ops import parse_host_port as parse_host_port  # re-exported for bot.ops.runtime

TRADING_STATES = tuple(str(state) for state in TradingState)  # "active", "reducing", "halted"
# From a fast in-memory decision (well under a millisecond) to one that waited on a slow venue call.
DECISION_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The daemon's gauges, counters and histogram; one method per thing it reports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ready = False  # the session started (and is not stopping)
        self.stopping = False
        self.halted_reason: str | None = None  # why trading is halted, while it is
        r = self.registry
        self._ready = Gauge(
            "hedgebot_ready", "1 while /readyz answers ready (started, trading not halted), else 0", registry=r
        )
        self._hedge_target = Gauge(
            "hedgebot_hedge_ratio_target",
            "Target hedge notional / exposure, per hedge instrument",
            ["symbol"],
            registry=r,
        )
        self._hedge_actual = Gauge(
            "hedgebot_hedge_ratio_actual",
            "Held hedge notional / exposure, per hedge instrument",
            ["symbol"],
            registry=r,
        )
        self._exposure = Gauge("hedgebot_exposure_quote", "Hedged spot holdings at mark", registry=r)
        self._equity = Gauge("hedgebot_equity_quote", "Hedge-account wallet + unrealised P&L", registry=r)
        self._margin_ratio = Gauge(
            "hedgebot_margin_ratio",
            "Hedge-account equity / maintenance margin (below 1 is liquidation)",
            registry=r,
        )
        self._buffer = Gauge(
            "hedgebot_collateral_buffer",
            "Adverse move of the hedge instruments' prices (fraction) that would liquidate the hedge account",
            registry=r,
        )
        self._drawdown = Gauge(
            "hedgebot_drawdown_quote", "Fall of hedged portfolio value from its running peak", registry=r
        )
        self._trading_state = Gauge(
            "hedgebot_trading_state",
            "1 for the trading state in force, 0 for the others",
            ["state"],
            registry=r,
        )
        self._feed_age = Gauge("hedgebot_feed_age_seconds", "Age of the newest message", ["feed"], registry=r)
        self._account_read_age = Gauge(
            "hedgebot_account_read_age_seconds",
            "Age of an exchange account's last good balance read ([[portfolio.accounts]])",
            ["account"],
            registry=r,
        )
        self._account_stale = Gauge(
            "hedgebot_account_stale",
            "1 while an account's last good read is older than its max_age (trading then held reducing), else 0",
            ["account"],
            registry=r,
        )
        self._account_stream_live = Gauge(
            "hedgebot_account_stream_live",
            "1 while an account's user stream is subscribed, 0 while down, refused or not followed",
            ["account"],
            registry=r,
        )
        self._tail_risk = Gauge(
            "hedgebot_tail_risk_quote",
            "One-day 99 % value at risk (var) and expected shortfall (es) of the book, from the rolling returns",
            ["method", "book", "measure"],
            registry=r,
        )
        self._orders = Counter("hedgebot_orders", "Orders by final outcome", ["outcome"], registry=r)
        self._fills = Counter("hedgebot_fills", "Executions received", registry=r)
        self._funding_received = Counter("hedgebot_funding_received_quote", "Funding received", registry=r)
        self._funding_paid = Counter("hedgebot_funding_paid_quote", "Funding paid", registry=r)
        self._reconnects = Counter("hedgebot_reconnects", "Stream reconnections", ["stream"], registry=r)
        self._decision_latency = Histogram(
            "hedgebot_decision_latency_seconds",
            "From the market event to the decision's orders handed to the venue",
            buckets=DECISION_LATENCY_BUCKETS,
            registry=r,
        )
        self.set_trading_state(str(TradingState.ACTIVE))
        self._set_ready_gauge()

    # ---- state the daemon sets ----------------------------------------------------------------------

    def set_ready(self, ready: bool) -> None:
        """True once the session has started; False again when it stops."""
        self.stopping = self.ready and not ready
        self.ready = ready
        self._set_ready_gauge()

    def not_ready_reason(self) -> str | None:
        """Why /readyz answers 503, or None when it answers ready."""
        if not self.ready:
            return "stopping" if self.stopping else "starting"
        if self.halted_reason is not None:
            return f"trading halted: {self.halted_reason}"
        return None

    def set_hedge_ratio(self, symbol: str, target: float, actual: float) -> None:
        self._hedge_target.labels(symbol=symbol).set(target)
        self._hedge_actual.labels(symbol=symbol).set(actual)

    def set_exposure(self, value: float) -> None:
        self._exposure.set(value)

    def set_equity(self, value: float) -> None:
        self._equity.set(value)

    def set_collateral_buffer(self, value: float) -> None:
        """+Inf when no move liquidates (no positions), as the status reports it with None."""
        self._buffer.set(value)

    def set_margin_ratio(self, value: float) -> None:
        """+Inf with no positions, as `AccountSnapshot.margin_ratio` reports it (Prometheus accepts +Inf)."""
        self._margin_ratio.set(value)

    def set_drawdown(self, value: float) -> None:
        self._drawdown.set(value)

    def set_trading_state(self, state: str, reason: str = "") -> None:
        """Exactly one `state` label is 1; all three known states always exist, so alerts can match on 0.
        While `state` is halted the daemon is not ready, and /readyz gives `reason`."""
        for known in {*TRADING_STATES, state}:
            self._trading_state.labels(state=known).set(1.0 if known == state else 0.0)
        self.halted_reason = (reason or "no reason given") if state == str(TradingState.HALTED) else None
        self._set_ready_gauge()

    def set_feed_age(self, feed: str, seconds: float) -> None:
        self._feed_age.labels(feed=feed).set(seconds)

    def set_account(self, account: str, read_age: float | None, stale: bool, stream_live: bool) -> None:
        """One `[[portfolio.accounts]]` account; no age before its first good read (its stale gauge says)."""
        if read_age is not None:
            self._account_read_age.labels(account=account).set(read_age)
        self._account_stale.labels(account=account).set(1.0 if stale else 0.0)
        self._account_stream_live.labels(account=account).set(1.0 if stream_live else 0.0)

    def set_tail_risk(self, method: str, book: str, measure: str, value: float) -> None:
        """`method` historical or filtered, `book` hedged or unhedged, `measure` var or es (a loss, in quote)."""
        self._tail_risk.labels(method=method, book=book, measure=measure).set(value)

    # ---- things that happened -----------------------------------------------------------------------

    def order_outcome(self, outcome: str) -> None:
        """`filled`, `cancelled`, `rejected`, `expired`, `unknown`: one increment per order's final state."""
        self._orders.labels(outcome=outcome).inc()

    def fill(self) -> None:
        self._fills.inc()

    def funding(self, amount: float) -> None:
        """A settlement: + received, − paid (as `FundingSettled.amount`); counters only go up, so two."""
        if amount > 0:
            self._funding_received.inc(amount)
        elif amount < 0:
            self._funding_paid.inc(-amount)

    def reconnect(self, stream: str) -> None:
        self._reconnects.labels(stream=stream).inc()

    def observe_decision_latency(self, seconds: float) -> None:
        self._decision_latency.observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def _set_ready_gauge(self) -> None:
        self._ready.set(0.0 if self.not_ready_reason() else 1.0)


# ---- the HTTP server --------------------------------------------------------------------------------

METRICS = web.AppKey("metrics", Metrics)


def build_metrics_app(metrics: Metrics) -> web.Application:
    app = web.Application()
    app[METRICS] = metrics
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    return app


async def start_metrics_server(metrics: Metrics, host: str = "127.0.0.1", port: int = 9108) -> web.AppRunner:
    """Serve `metrics` on host:port (port 0: any free one, see `bound_port`); stop with `runner.cleanup()`."""
    # No access log: a scrape every 15 s would flood it.
    runner = web.AppRunner(build_metrics_app(metrics), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port the server listens on (useful when it was started on port 0)."""
    address = runner.addresses[0]
    return int(address[1])


async def _metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].exposition()
    # Version 0.0.4 is the format every Prometheus scrapes; set by header since it carries a charset.
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


async def _healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _readyz(request: web.Request) -> web.Response:
    reason = request.app[METRICS].not_ready_reason()
    if reason is None:
        return web.Response(text="ready\n")
    return web.Response(status=503, text=f"not ready: {redact(reason)}\n")
