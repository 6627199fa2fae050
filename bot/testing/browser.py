"""Headless Chromium driven over the DevTools protocol (a websocket, with aiohttp): pages as a person sees them.

`async with Browser.launch(profile_dir) as browser: page = await browser.page()` then `await page.goto(url)`,
`await page.eval("js expression")`, `await page.wait_for("js condition", what)`, `await page.screenshot(clip)`.
Each browser has its own profile (cookies), so two browsers are two people. Nothing is installed: the system's
Chromium (`/usr/bin/chromium`, Debian's package) is used, and only 127.0.0.1 is reached.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt

WAIT_S = 20.0
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class BrowserError(RuntimeError):
    """Chromium could not be started or answered a command with an error."""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class Page:
    """One tab, attached with a flat session."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self._browser = browser
        self._session = session_id

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._browser.send(method, session_id=self._session, **params)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'", f"load {url}")

    async def eval(self, expression: str) -> Any:
        """The value of a JS expression (awaited when it is a promise)."""
        answer = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise BrowserError(f"script failed: {answer['exceptionDetails'].get('text')}")
        return answer.get("result", {}).get("value")

    async def wait_for(self, condition: str, what: str, timeout_s: float = WAIT_S) -> Any:
        """The first truthy value of `condition`, probed every 50 ms for at most `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            with contextlib.suppress(BrowserError):  # a navigation in progress destroys the context
                value = await self.eval(condition)
                if value:
                    return value
            if loop.time() > deadline:
                raise AssertionError(f"gave up after {timeout_s:g}s waiting for {what}")
            await asyncio.sleep(0.05)  # a pause between probes of a condition, not a synchronisation

    async def screenshot(self, clip: dict[str, float] | None = None) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        answer = await self.send("Page.captureScreenshot", **params)
        return base64.b64decode(answer["data"])

    async def box(self, selector: str) -> dict[str, float]:
        """The element's box in page coordinates (for a screenshot's clip)."""
        found = await self.eval(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
            " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; })()"
        )
        if not isinstance(found, dict):
            raise BrowserError(f"no element {selector}")
        return {key: float(value) for key, value in found.items()}


class Browser:
    def __init__(self, process: asyncio.subprocess.Process, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._process = process
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @asynccontextmanager
    async def launch(cls, profile: Path, width: int = 1280, height: int = 1400) -> AsyncIterator[Browser]:
        chromium = find_chromium()
        if chromium is None:
            raise BrowserError("headless Chromium is not installed (apt-get install chromium)")
        process = await asyncio.create_subprocess_exec(
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
            f"--window-size={width},{height}", "--hide-scrollbars", "about:blank",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S))
        try:
            url = await asyncio.wait_for(_devtools_url(process), WAIT_S)
            socket = await http.ws_connect(url, max_msg_size=64 * 1024 * 1024)
            browser = cls(process, socket)
            try:
                yield browser
            finally:
                await browser._close()
        finally:
            await http.close()
            if process.returncode is None:
                process.kill()
            await process.wait()

    async def page(self) -> Page:
        targets = await self.send("Target.getTargets")
        pages = [t for t in targets["targetInfos"] if t["type"] == "page"]
        if pages:
            target_id = pages[0]["targetId"]
        else:
            target_id = (await self.send("Target.createTarget", url="about:blank"))["targetId"]
        attached = await self.send("Target.attachToTarget", targetId=target_id, flatten=True)
        page = Page(self, attached["sessionId"])
        await page.send("Page.enable")
        await page.send("Runtime.enable")
        return page

    async def send(self, method: str, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session_id is not None:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self._socket.send_str(json.dumps(message))
        answer = await asyncio.wait_for(future, WAIT_S)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error'].get('message')}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            future = self._waiting.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(BrowserError("the browser went away"))

    async def _close(self) -> None:
        with contextlib.suppress(BrowserError, TimeoutError, ConnectionError):
            await self.send("Browser.close")
        await self._socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def _devtools_url(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    while True:
        line = await process.stderr.readline()
        if not line:
            raise BrowserError("chromium exited before it listened for DevTools")
        found = _LISTENING.search(line.decode(errors="replace"))
        if found:
            # Drain the rest of stderr in the background so a chatty browser never blocks on a full pipe.
            asyncio.get_running_loop().create_task(_drain(process.stderr))
            return found.group(1)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


def decode_png(png: bytes) -> npt.NDArray[np.uint8]:
    """The RGB pixels of an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium's screenshots are)."""
    pos, idat, width, height, colour = 8, b"", 0, 0, 0
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError("only 8-bit RGB(A) non-interlaced PNGs")
        elif kind == b"IDAT":
            idat += data
    bpp = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width * bpp + 1)
    rows: list[list[int]] = []
    previous = [0] * (width * bpp)
    for y in range(height):
        method, line = int(raw[y, 0]), raw[y, 1:].tolist()
        out = [0] * len(line)
        for i, value in enumerate(line):
            left = out[i - bpp] if i >= bpp else 0
            above, corner = previous[i], (previous[i - bpp] if i >= bpp else 0)
            if method == 0:
                predicted = 0
            elif method == 1:
                predicted = left
            elif method == 2:
                predicted = above
            elif method == 3:
                predicted = (left + above) >> 1
            else:
                estimate = left + above - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - above), abs(estimate - corner)
                predicted = left if pa <= pb and pa <= pc else above if pb <= pc else corner
            out[i] = (value + predicted) & 255
        rows.append(out)
        previous = out
    return np.array(rows, dtype=np.uint8).reshape(height, width, bpp)[:, :, :3]


def painted(pixels: npt.NDArray[np.uint8], colour: tuple[int, int, int], tolerance: int = 40) -> int:
    """How many pixels are (nearly) this colour."""
    distance = np.abs(pixels.astype(np.int64) - np.array(colour)).sum(axis=2)
    return int((distance < tolerance).sum())
