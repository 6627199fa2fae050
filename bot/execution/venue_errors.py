"""The few exception kinds every venue raises; exchange-specific errors are mapped into these once, at the edge."""

from __future__ import annotations


class VenueError(Exception):
    """Base of all venue errors. Messages never contain credentials."""


class Retryable(VenueError):
    """Transient (network, 5xx, rate limit): the same request may be retried after a backoff.

    Never raised for an order *create* whose outcome is unknown; that is `UnknownOutcome`.
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RateLimited(Retryable):
    """The venue asked us to slow down (429/418, -1003)."""


class Rejected(VenueError):
    """The venue refused this request for good (invalid order, insufficient margin, unknown order)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class WouldTakeLiquidity(Rejected):
    """A post-only order that would have crossed the book and taken liquidity (-5022) was refused untouched: the
    price, not the order, was wrong; the next clip goes out at a fresh price."""


class InsufficientMargin(Rejected):
    """The order would need more margin than the account has (-2019/-2018)."""


class OrderNotFound(Rejected):
    """The venue does not know this order (-2011/-2013)."""


class UnknownOutcome(VenueError):
    """A create or cancel timed out or lost its connection: the order may or may not exist.

    Resolve by querying the order by client order id; never send it again blind.
    """


class Fatal(VenueError):
    """Authentication failures, bad symbols, configuration errors: stop trading and tell the operator."""
