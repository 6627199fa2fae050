"""The dashboard of a running paper daemon, in headless Chromium and over plain HTTP: a login gives a session
cookie, the page shows the state, the positions and charts that update, an operator pauses with a reason the
audit trail records under their name, a viewer gets no command and is refused one, a stranger sees the login."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.testing.browser import Browser, Page, decode_png, find_chromium, painted

ALICE = "alice-dashboard-token-0123456789abcdef"
VERA = "vera-dashboard-token-0123456789abcdef"
BLUE = (0x1F, 0x5F, 0xBF)  # the hedged line of the value chart and the held line of the ratio chart
ORANGE = (0xC2, 0x57, 0x1A)  # the unhedged line

LiveStarter = Callable[[Path, dict[str, Any]], AbstractAsyncContextManager[Any]]


def needs_chromium() -> None:
    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed here (CI installs it: apt-get install chromium)")


@pytest.fixture
def operators(tmp_path: Path) -> Path:
    path = tmp_path / "operators"
    path.write_text(f"alice:trader:{ALICE}\nvera:viewer:{VERA}\n")
    os.chmod(path, 0o600)
    return path


@asynccontextmanager
async def daemon(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> AsyncIterator[Any]:
    async with start_live(tmp_path, config_data(tmp_path, control={"operators_file": str(operators)})) as running:
        yield running


async def log_in(page: Page, base: str, token: str) -> None:
    await page.goto(base + "/login")
    await page.eval(
        f"document.getElementById('token').value = {json.dumps(token)};"
        " document.getElementById('login-form').requestSubmit()"
    )
    await page.wait_for("location.pathname === '/' && Number(document.body.dataset.updates || 0) >= 1", "dashboard")


async def http_login(http: aiohttp.ClientSession, base: str, token: str) -> tuple[int, str]:
    """A login as a browser does it: the form's nonce and its cookie, then the token. (status, CSRF token)."""
    async with http.get(base + "/login") as response:
        nonce = re.search(r'name="nonce" value="([^"]+)"', await response.text())
    assert nonce is not None
    async with http.post(
        base + "/login", data={"nonce": nonce.group(1), "token": token}, allow_redirects=False
    ) as response:
        status = response.status
    if status != 303:
        return status, ""
    async with http.get(base + "/") as response:
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', await response.text())
    return status, csrf.group(1) if csrf else ""


def cookie_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=20)
    )  # unsafe: cookies for 127.0.0.1


@pytest.mark.asyncio
async def test_an_operator_logs_in_sees_positions_and_charts_that_update_and_pauses_with_a_reason_under_their_name(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    needs_chromium()
    async with daemon(tmp_path, operators, start_live, config_data) as running, Browser.launch(tmp_path / "a") as b:
        page = await b.page()
        await log_in(page, running.api.base_url, ALICE)
        assert await page.eval("document.getElementById('who').textContent") == "alice (trader)"
        await page.wait_for("document.querySelectorAll('#positions tbody tr').length >= 1", "a hedge position")
        assert "BTC/USDT:USDT" in await page.eval("document.querySelector('#positions tbody').textContent")
        first = int(await page.wait_for("Number(document.getElementById('chart-value').dataset.points || 0)", "chart"))
        await page.wait_for(f"Number(document.getElementById('chart-value').dataset.points) > {first}", "chart grows")
        assert await page.eval("document.querySelectorAll('#chart-value canvas').length") == 1

        pixels = decode_png(await page.screenshot(await page.box("#chart-value")))
        assert painted(pixels, BLUE) > 200
        assert painted(pixels, ORANGE) > 200

        await page.eval("document.getElementById('cmd-pause').click()")
        await page.wait_for("document.getElementById('confirm').open", "the confirmation")
        await page.eval(
            "document.getElementById('confirm-reason').value = 'funding spike, checking';"
            " document.getElementById('confirm-ok').click()"
        )
        await page.wait_for("document.getElementById('command-result').textContent === 'pause: done'", "pause done")
        await page.wait_for("document.body.dataset.paused === 'yes'", "the page to show the pause")
        audit = await page.wait_for(
            "[...document.querySelectorAll('#audit tbody tr')].map(r => r.textContent).join('|')", "the audit row"
        )
        assert "alice" in audit
        assert "dashboard" in audit
        assert "funding spike, checking" in audit
        assert running.daemon.status()["paused"] is True
        [row] = [r for r in running.journal.rows("commands") if r["command"] == "pause"]
        assert (row["operator"], row["via"], row["reason"]) == ("alice", "dashboard", "funding spike, checking")


@pytest.mark.asyncio
async def test_a_viewer_sees_no_command_buttons_and_a_command_sent_anyway_is_refused(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    needs_chromium()
    async with daemon(tmp_path, operators, start_live, config_data) as running, Browser.launch(tmp_path / "v") as b:
        page = await b.page()
        await log_in(page, running.api.base_url, VERA)
        assert await page.eval("document.querySelectorAll('button.command').length") == 0
        assert "Read-only" in await page.eval("document.getElementById('read-only').textContent")
        forged = await page.eval(
            "fetch('/commands/pause', {method: 'POST', headers: {'Content-Type': 'application/json',"
            " 'X-CSRF-Token': document.querySelector('meta[name=\"csrf-token\"]').content},"
            " body: JSON.stringify({reason: 'just looking'})}).then(async r => [r.status, (await r.json()).error])"
        )
        assert forged == [403, "vera is a viewer; pause needs the trader role or above"]
        assert running.daemon.status()["paused"] is False
        assert [row["command"] for row in running.journal.rows("commands")] == []


@pytest.mark.asyncio
async def test_a_browser_without_a_session_sees_only_the_login(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    needs_chromium()
    async with daemon(tmp_path, operators, start_live, config_data) as running, Browser.launch(tmp_path / "s") as b:
        page = await b.page()
        await page.goto(running.api.base_url + "/")
        assert await page.eval("location.pathname") == "/login"
        assert await page.eval("document.querySelectorAll('#positions, #audit, button.command').length") == 0
        assert await page.eval("fetch('/overview').then(r => r.status)") == 401
        await page.eval("document.getElementById('token').value = 'not-a-token-0123456789abcdef';"
                        " document.getElementById('login-form').requestSubmit()")  # fmt: skip
        await page.wait_for("document.readyState === 'complete' && !!document.getElementById('login-message')", "ans")
        message = await page.wait_for("document.getElementById('login-message').textContent", "the refusal")
        assert message == "That token is not an operator's."
    assert "not-a-token-0123456789abcdef" not in running.log_file.read_text()


@pytest.mark.asyncio
async def test_the_session_cookie_is_httponly_and_strict_and_every_page_has_a_strict_content_security_policy(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    async with daemon(tmp_path, operators, start_live, config_data) as running, cookie_session() as http:
        base = running.api.base_url
        async with http.get(base + "/login") as response:
            nonce = re.search(r'name="nonce" value="([^"]+)"', await response.text())
            assert nonce is not None
        async with http.post(
            base + "/login", data={"nonce": nonce.group(1), "token": ALICE}, allow_redirects=False
        ) as response:
            cookie = response.headers["Set-Cookie"]
        assert "hb_session=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        for path in ("/", "/login", "/static/dashboard.js", "/overview"):
            async with http.get(base + path) as response:
                assert response.status == 200, path
                policy = response.headers["Content-Security-Policy"]
                assert "script-src 'self'" in policy, path
                assert "default-src 'none'" in policy, path
                assert "unsafe-inline" not in policy
        async with http.get(base + "/") as response:
            page = await response.text()
        assert "<script>" not in page  # no inline, no CDN
        assert "http://" not in page
        assert "https://" not in page


@pytest.mark.asyncio
async def test_a_post_with_the_session_cookie_but_without_its_csrf_token_is_refused(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    async with daemon(tmp_path, operators, start_live, config_data) as running, cookie_session() as http:
        status, csrf = await http_login(http, running.api.base_url, ALICE)
        assert status == 303
        assert csrf
        url = running.api.base_url + "/commands/pause"
        async with http.post(url, json={}, headers={"X-CSRF-Token": "guessed"}) as response:
            assert response.status == 403
        async with http.post(url, json={}) as response:
            assert response.status == 403
        assert running.daemon.status()["paused"] is False
        async with http.post(url, json={"reason": "with the token"}, headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 200
        assert running.daemon.status()["paused"] is True


@pytest.mark.asyncio
async def test_rotating_an_operators_token_ends_their_dashboard_session(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    async with daemon(tmp_path, operators, start_live, config_data) as running, cookie_session() as http:
        assert (await http_login(http, running.api.base_url, ALICE))[0] == 303
        async with http.get(running.api.base_url + "/overview") as response:
            assert response.status == 200
        await asyncio.to_thread(operators.write_text, f"alice:trader:{ALICE}-rotated\nvera:viewer:{VERA}\n")
        async with http.get(running.api.base_url + "/overview") as response:
            assert response.status == 401
        async with http.get(running.api.base_url + "/", allow_redirects=False) as response:
            assert (response.status, response.headers["Location"]) == (303, "/login")


@pytest.mark.asyncio
async def test_a_wrong_token_at_the_login_is_a_401_logged_without_the_token(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    wrong = "wrong-dashboard-token-0123456789abcdef"
    async with daemon(tmp_path, operators, start_live, config_data) as running, cookie_session() as http:
        assert (await http_login(http, running.api.base_url, wrong))[0] == 401
        assert (await http_login(http, running.api.base_url, ALICE))[0] == 303
    log = running.log_file.read_text()
    assert "dashboard_login_refused" in log
    assert '"operator": "alice"' in log
    assert wrong not in log
    assert ALICE not in log


@pytest.mark.asyncio
async def test_after_ten_wrong_tokens_in_a_minute_even_the_right_one_waits(
    tmp_path: Path, operators: Path, start_live: LiveStarter, config_data: Callable[..., dict[str, Any]]
) -> None:
    async with daemon(tmp_path, operators, start_live, config_data) as running, cookie_session() as http:
        for _ in range(10):
            assert (await http_login(http, running.api.base_url, "guess-0123456789abcdef"))[0] == 401
        assert (await http_login(http, running.api.base_url, ALICE))[0] == 429
