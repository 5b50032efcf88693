"""A headless Chromium (Debian's `chromium`) driven over the DevTools protocol, for the --web test.

The panel draws into a canvas (xterm.js), so its text is not in the DOM: a script installed before the
page loads catches the page's xterm Terminal as it is assigned (`this.terminal = ...`), and
`screen_text()` reads the rows xterm draws. `screenshot()` returns the PNG bytes."""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from live.processes import stop_process

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")

# A setter on Object.prototype sees the first assignment of `terminal` on any object without its own
# `terminal` property, keeps the value on window and puts a plain property in its place.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    window.__terminal = value;
    Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
  },
});
"""
SCREEN_TEXT = """(() => {
  const t = window.__terminal;
  if (!t) return null;
  const rows = [];
  for (let i = 0; i < t.rows; i++) rows.push(t.buffer.active.getLine(i).translateToString(true));
  const box = document.querySelector(".xterm-screen").getBoundingClientRect();
  return {rows, cols: t.cols, left: box.left, top: box.top, width: box.width, height: box.height};
})()"""
TWO_FRAMES = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"


class ChromiumError(RuntimeError):
    pass


class Chromium:
    """`async with Chromium(width, height) as browser:` one headless browser with a fresh profile."""

    def __init__(self, width: int = 1280, height: int = 900):
        self.width, self.height = width, height
        self.profile = Path(tempfile.mkdtemp(prefix="prnn-chromium-"))
        self.proc: subprocess.Popen | None = None
        self._ids = itertools.count(1)

    async def __aenter__(self):
        if shutil.which("chromium") is None:
            raise ChromiumError("chromium is not installed; run `make chromium` (apt-get install chromium)")
        self.proc = subprocess.Popen(["chromium", *FLAGS, f"--user-data-dir={self.profile}",
                                      "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = await self._devtools_port()
        self.http = aiohttp.ClientSession()
        async with self.http.get(f"http://127.0.0.1:{port}/json/list") as reply:
            page = next(t for t in await reply.json() if t["type"] == "page")
        self.ws = await self.http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        await self.call("Page.enable")
        await self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                        deviceScaleFactor=1, mobile=False)
        await self.call("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        return self

    async def __aexit__(self, *exc):
        if hasattr(self, "http"):
            await self.http.close()
        stop_process(self.proc)
        shutil.rmtree(self.profile, ignore_errors=True)

    async def _devtools_port(self, timeout: float = 30.0) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ChromiumError(f"chromium exited with {self.proc.returncode}")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            await asyncio.sleep(0.1)
        raise ChromiumError(f"chromium did not open its DevTools port within {timeout} s")

    async def call(self, method: str, **params):
        ident = next(self._ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads((await self.ws.receive()).data)
            if message.get("id") == ident:
                if "error" in message:
                    raise ChromiumError(f"{method}: {message['error']}")
                return message.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def screen_text(self) -> dict | None:
        """The terminal's rows and where it sits on the page (None until the page made its terminal)."""
        return await self.evaluate(SCREEN_TEXT)

    async def screenshot(self) -> bytes:
        await self.evaluate(TWO_FRAMES)  # let the last rows written reach the canvas
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])
