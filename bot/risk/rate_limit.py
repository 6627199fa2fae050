"""Backing off when the venue rate-limits our orders: how long no order goes out after one was refused. Pure.

A 429/418 answer means the venue refused the request before processing it; the venue edge already waits a
little and sends the same request again (`bot.live.exchange_plan.LiveCcxtVenue`). When the refusal still reaches
the daemon, the clip is rejected and trading is held `halted` under source `SOURCE` until the back-off is over: the
wait the venue asked for (Retry-After), or an exponential back-off from `initial_ms` doubling with each refusal in a row
up to `cap_ms`, whichever is longer. The hold lifts by itself at the first check after that time, and an order
the venue takes ends the streak.

Governor: source `SOURCE`; hold `TradingState.HALTED` with `reason()` after `refused()`, release once `over()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import MS_PER_MINUTE, MS_PER_SECOND, utc_time

SOURCE = "rate_limit"


@dataclass(slots=True)
class RateLimitBackoff:
    initial_ms: int = 10 * MS_PER_SECOND
    cap_ms: int = 10 * MS_PER_MINUTE
    strikes: int = 0  # refusals in a row (reset by an order the venue took)
    until_ms: int | None = None  # no order before this time; None: not backing off

    def __post_init__(self) -> None:
        if not 0 < self.initial_ms <= self.cap_ms:
            raise ValueError(f"rate-limit back-off needs 0 < initial_ms <= cap_ms, got {self}")

    def refused(self, now: int, retry_after_s: float | None) -> int:
        """A create the venue refused for rate limits: the time before which no order may go out."""
        self.strikes += 1
        backoff = min(self.cap_ms, self.initial_ms * 2 ** min(self.strikes - 1, 32))
        asked = int((retry_after_s or 0.0) * MS_PER_SECOND)
        self.until_ms = max(self.until_ms or now, now + max(backoff, asked))
        return self.until_ms

    def placed(self) -> None:
        """The venue took an order: the next refusal starts the back-off afresh."""
        self.strikes = 0

    def over(self, now: int) -> bool:
        """True once, at the first check at or after the end of a back-off."""
        if self.until_ms is None or now < self.until_ms:
            return False
        self.until_ms = None
        return True

    def reason(self, now: int, error: str) -> str:
        """Why trading is held, for the status and the alert."""
        until = self.until_ms if self.until_ms is not None else now
        wait = (until - now) / MS_PER_SECOND
        return (
            f"rate-limited by the venue ({self.strikes} in a row: {error}); "
            f"no order for {wait:g}s, until {utc_time(until)}"
        )
