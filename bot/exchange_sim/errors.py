"""The Binance USDⓈ-M error answers the simulator gives, with the HTTP status Binance uses for each.

Codes and messages are Binance's own, so an unmodified ccxt client maps them to the exceptions it raises
against the real exchange (see /work/shared/EXCHANGE-NOTES.md).
"""

from __future__ import annotations


class BinanceError(Exception):
    """An error answer: HTTP `status` with body {"code": code, "msg": msg} (or `msg` as plain text).

    Not a frozen dataclass: Python assigns `__traceback__` on exceptions as they propagate.
    """

    def __init__(
        self,
        status: int,
        code: int,
        msg: str,
        plain_text: bool = False,
        retry_after_s: int | None = None,
        content_type: str = "text/plain",
    ) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.plain_text = plain_text  # a gateway-style answer with no JSON body (503 from a load balancer)
        self.retry_after_s = retry_after_s
        self.content_type = content_type  # of a plain-text answer

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def bad_request(code: int, msg: str) -> BinanceError:
    return BinanceError(400, code, msg)


_NOT_FOUND_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>Binance</title></head>\n"
    "<body><h3>404</h3><p>Sorry! The page you visited does not exist.</p></body>\n</html>\n"
)


def unknown_path() -> BinanceError:
    """What Binance answers for a path (or method) it does not serve: its web front's HTML 404 page, no JSON.

    Seen from fapi.binance.com when an endpoint was withdrawn (ccxt issue 18797): clients get a 404 whose body
    is not an error object (the connector's ClientError has no code, python-binance reports code 0).
    """
    return BinanceError(404, 0, _NOT_FOUND_PAGE, plain_text=True, content_type="text/html")


def missing_api_key() -> BinanceError:
    return BinanceError(401, -2014, "API-key format invalid.")


def invalid_api_key() -> BinanceError:
    return BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")


def invalid_signature() -> BinanceError:
    return bad_request(-1022, "Signature for this request is not valid.")


def timestamp_outside_window() -> BinanceError:
    return bad_request(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> BinanceError:
    return bad_request(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")


def missing_parameter(name: str) -> BinanceError:
    return bad_request(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def bad_parameter(name: str) -> BinanceError:
    return bad_request(-1100, f"Illegal characters found in parameter '{name}'.")


def invalid_symbol() -> BinanceError:
    return bad_request(-1121, "Invalid symbol.")


def unknown_order_on_cancel() -> BinanceError:
    return bad_request(-2011, "Unknown order sent.")


def order_does_not_exist() -> BinanceError:
    return bad_request(-2013, "Order does not exist.")


def duplicate_client_order_id() -> BinanceError:
    return bad_request(-4116, "ClientOrderId is duplicated.")


def margin_insufficient() -> BinanceError:
    return bad_request(-2019, "Margin is insufficient.")


def order_rejected(msg: str = "Order was rejected by the exchange simulator.") -> BinanceError:
    return bad_request(-2010, msg)


def reduce_only_rejected() -> BinanceError:
    return bad_request(-2022, "ReduceOnly Order is rejected.")


def post_only_rejected() -> BinanceError:
    return bad_request(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")


def lot_size_failure() -> BinanceError:
    return bad_request(-4003, "Filter failure: LOT_SIZE")  # the body names LOT_SIZE: ccxt raises InvalidOrder


def price_filter_failure() -> BinanceError:
    return bad_request(-4014, "Filter failure: PRICE_FILTER")


def min_notional_failure(min_notional: float) -> BinanceError:
    return bad_request(
        -4164, f"Order's notional must be no smaller than {min_notional:g} (unless you choose reduce only)."
    )


def no_price_yet() -> BinanceError:
    return bad_request(-1013, "Market is closed.")


def listen_key_does_not_exist() -> BinanceError:
    return bad_request(-1125, "This listenKey does not exist.")


def rate_limited(status: int = 429) -> BinanceError:
    if status == 418:
        return BinanceError(418, -1003, "Way too much request weight used; IP banned.", retry_after_s=60)
    return BinanceError(429, -1003, "Too many requests; current limit is 2400 requests per minute.", retry_after_s=1)


def service_unavailable_text() -> BinanceError:
    return BinanceError(503, 0, "Service Unavailable", plain_text=True)


def internal_error() -> BinanceError:
    return BinanceError(503, -1001, "Internal error; unable to process your request. Please try again.")


def margin_type_unchanged() -> BinanceError:
    return bad_request(-4046, "No need to change margin type.")


def invalid_leverage(leverage: int) -> BinanceError:
    return bad_request(-4028, f"Leverage {leverage} is not valid")


def max_position_exceeded() -> BinanceError:
    return bad_request(-2027, "Exceeded the maximum allowable position at current leverage.")


def precision_over_maximum() -> BinanceError:
    return bad_request(-1111, "Precision is over the maximum defined for this asset.")


def would_trigger_immediately() -> BinanceError:
    return bad_request(-2021, "Order would immediately trigger.")
