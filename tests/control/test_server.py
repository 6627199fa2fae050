"""The control API answers every bad request with the right status and a JSON error, and changes nothing."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import ControlSection
from bot.control.client import ControlClient, DaemonUnreachable
from bot.control.listen import ListenAddress, client_ssl_context, parse_listen, server_ssl_context
from bot.control.server import MAX_BODY_BYTES, ControlServer

pytestmark = pytest.mark.asyncio

COMMAND_PATHS = [f"/commands/{name}" for name in ("pause", "resume", "flatten", "kill", "reload")]


async def snapshot(running: Any) -> tuple[dict[str, Any], int, int]:
    """What a request could change: the daemon's state (less the clock), the journal's commands and orders."""
    status = await running.api.status()
    state = {key: value for key, value in status.items() if key not in ("now", "feed_age_s")}
    return state, running.journal.count("commands"), running.journal.count("orders")


async def test_health_needs_no_token_and_reveals_nothing_else(idle_daemon: Any) -> None:
    assert await idle_daemon.api.get("/health") == (200, {"ok": True})


WITHOUT_BEARER: dict[str, Callable[[str], dict[str, Any]]] = {
    "no token": lambda _token: {},
    "wrong token": lambda _token: {"headers": {"Authorization": "Bearer not-the-token-0123456789"}},
    "token without the Bearer scheme": lambda token: {"headers": {"Authorization": token}},
    "token under another scheme": lambda token: {"headers": {"Authorization": f"Basic {token}"}},
    "token in another header": lambda token: {"headers": {"X-Api-Key": token}},
    "token in a cookie": lambda token: {"headers": {"Cookie": f"token={token}"}},
    "token in the query string": lambda token: {"params": {"token": token}},
}


@pytest.mark.parametrize("how", list(WITHOUT_BEARER))
@pytest.mark.parametrize("path", ["/status", "/commands/kill", "/nowhere"])
async def test_a_request_without_the_bearer_token_is_401_and_changes_nothing(
    idle_daemon: Any, token: str, how: str, path: str
) -> None:
    before = await snapshot(idle_daemon)
    send = idle_daemon.api.get if path == "/status" else idle_daemon.api.post
    code, body = await send(path, **WITHOUT_BEARER[how](token))
    assert (code, body["ok"]) == (401, False)
    assert "Bearer" in body["error"]
    assert token not in body["error"]
    assert await snapshot(idle_daemon) == before


async def test_a_401_names_the_scheme_it_wants(idle_daemon: Any) -> None:
    async with idle_daemon.api.http.get(idle_daemon.api.base_url + "/status") as response:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", COMMAND_PATHS)
async def test_a_body_over_the_limit_is_413_and_changes_nothing(idle_daemon: Any, path: str) -> None:
    before = await snapshot(idle_daemon)
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    code, answer = await idle_daemon.api.post(path, data=body, headers=idle_daemon.api.auth)
    assert (code, answer["ok"]) == (413, False)
    assert await snapshot(idle_daemon) == before


async def test_an_oversized_body_without_a_token_is_refused_as_unauthenticated(idle_daemon: Any) -> None:
    code, _ = await idle_daemon.api.post("/commands/pause", data=b"x" * (2 * MAX_BODY_BYTES))
    assert code == 401


@pytest.mark.parametrize(
    ("path", "body", "expected", "message"),
    [
        ("/commands/explode", b"{}", 404, "unknown command 'explode'"),
        ("/commands/", b"{}", 404, "Not Found"),
        ("/admin", b"{}", 404, "Not Found"),
        ("/commands/pause", b"{not json", 400, "body is not JSON"),
        ("/commands/pause", b"\xff\xfe", 400, "body is not JSON"),
        ("/commands/pause", b"[]", 400, "must be a JSON object"),
        ("/commands/pause", b'{"now": true}', 400, "pause: unknown argument(s) ['now']"),
        ("/commands/kill", b'{"flatten": "yes"}', 400, "kill: flatten must be true or false"),
        ("/commands/set-ratio", b'{"ratio": 9}', 400, "set-ratio: ratio must be between 0 and 3"),
        ("/commands/set-ratio", b'{"ratio": 0.5, "for": "ever"}', 400, "for must be a duration"),
        ("/commands/set-ratio", b'{"ratio": NaN}', 400, "ratio must be a number"),
        ("/commands/set-holding", b'{"asset": "eth", "qty": 1}', 400, "asset must be a base asset"),
        ("/commands/set-holding", b'{"asset": "ETH", "qty": -1}', 400, "qty must be between 0"),
        ("/commands/status", b'{"verbose": true}', 400, "status: takes no arguments"),
    ],
)
async def test_an_unknown_command_or_bad_arguments_are_refused_and_change_nothing(
    idle_daemon: Any, path: str, body: bytes, expected: int, message: str
) -> None:
    before = await snapshot(idle_daemon)
    code, answer = await idle_daemon.api.post(path, data=body, headers=idle_daemon.api.auth)
    assert (code, answer["ok"]) == (expected, False)
    assert message in answer["error"]
    assert await snapshot(idle_daemon) == before


WRONG_METHODS = [("GET", "/commands/pause"), ("POST", "/status"), ("POST", "/health")]


@pytest.mark.parametrize(("method", "path"), WRONG_METHODS)
async def test_the_wrong_method_is_405(idle_daemon: Any, method: str, path: str) -> None:
    before = await snapshot(idle_daemon)
    async with idle_daemon.api.http.request(
        method, idle_daemon.api.base_url + path, headers=idle_daemon.api.auth
    ) as response:
        assert response.status == 405
        assert (await response.json())["ok"] is False
    assert await snapshot(idle_daemon) == before


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
async def test_any_body_that_is_not_a_valid_command_is_a_400_and_changes_nothing(
    idle_daemon: Any,
    body: bytes,
) -> None:
    before = await snapshot(idle_daemon)
    code, answer = await idle_daemon.api.post("/commands/set-ratio", data=body, headers=idle_daemon.api.auth)
    if code == 200:  # hypothesis found a valid set-ratio: nothing to check here
        return
    assert code == 400
    assert answer["ok"] is False
    assert await snapshot(idle_daemon) == before


async def test_a_command_the_engine_refuses_is_409_and_journaled_as_refused(idle_daemon: Any) -> None:
    code, answer = await idle_daemon.api.post(
        "/commands/set-holding", json={"asset": "XRP", "qty": 5}, headers=idle_daemon.api.auth
    )
    assert (code, answer["ok"]) == (409, False)
    assert "has no price stream" in answer["error"]
    [row] = idle_daemon.journal.rows("commands")
    assert row["command"] == "set-holding"
    assert row["outcome"].startswith("refused: holding 'XRP' has no price stream")


async def test_an_accepted_command_is_journaled_with_its_arguments_and_outcome(idle_daemon: Any) -> None:
    code, answer = await idle_daemon.api.post(
        "/commands/set-ratio", json={"ratio": 0.25, "for": "2h"}, headers=idle_daemon.api.auth
    )
    assert (code, answer["ok"], answer["command"]) == (200, True, "set-ratio")
    assert answer["status"]["ratio_override"]["ratio"] == 0.25
    [row] = idle_daemon.journal.rows("commands")
    assert (row["command"], row["args"], row["outcome"]) == (
        "set-ratio",
        '{"ratio": 0.25, "for": "2h"}',
        "ok",
    )


async def test_the_token_never_appears_in_the_log(idle_daemon: Any, token: str) -> None:
    await idle_daemon.api.post("/commands/pause", headers=idle_daemon.api.auth)
    await idle_daemon.api.get("/status", params={"token": token})
    await idle_daemon.api.post("/commands/pause", headers={"Authorization": f"Bearer {token}x"})
    log = idle_daemon.log_file.read_text()
    assert "control_request" in log
    assert token not in log


async def test_over_a_unix_socket_only_its_owner_may_connect_and_commands_work(
    start_idle: Callable[[Path, ListenAddress], AbstractAsyncContextManager[Any]], tmp_path: Path, token: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="hb-") as folder:  # short: a socket path is at most 107 bytes
        socket_path = Path(folder) / "control.sock"
        async with start_idle(tmp_path, ListenAddress(unix_path=socket_path)):
            assert socket_path.stat().st_mode & 0o777 == 0o600
            async with ControlClient(ListenAddress(unix_path=socket_path), token) as client:
                status = await client.command("pause")
            assert status["paused"] is True
        assert not socket_path.exists()  # removed on stop, so the next start finds no stale socket


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    pytest.importorskip("cryptography", reason="the test certificate is made with cryptography")
    # Imported here so that only this test, not the module, depends on cryptography (a dependency of ccxt).
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hedgebot test")])
    now = datetime.datetime.now(datetime.UTC)
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([loopback]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem = serialization.Encoding.PEM
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_file.write_bytes(private)
    return cert_file, key_file


async def test_over_tls_the_client_verifies_the_daemons_certificate(
    idle_daemon: Any, tmp_path: Path, token: str
) -> None:
    cert_file, key_file = self_signed_certificate(tmp_path)
    control = ControlSection(listen="127.0.0.1:0", tls_cert=cert_file, tls_key=key_file)
    server = ControlServer(idle_daemon.daemon, token)
    bound = await server.start(parse_listen(control.listen), server_ssl_context(control))
    try:
        async with ControlClient(bound, token, client_ssl_context(control)) as client:
            assert (await client.command("pause"))["paused"] is True
        async with ControlClient(bound, token) as plain_http:  # the daemon speaks nothing but TLS here
            with pytest.raises(DaemonUnreachable):
                await plain_http.status()
        async with ControlClient(bound, token, ssl.create_default_context()) as untrusting:
            with pytest.raises(DaemonUnreachable, match="TLS failed"):
                await untrusting.status()
    finally:
        await server.stop()
