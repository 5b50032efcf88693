"""`performance_rnn_live --web`: the flags, the address it listens on, and the panel seen in a headless
Chromium over real JACK MIDI; closing the browser quits the panel with a panic."""
import asyncio
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import mido
import numpy as np
import pytest
from PIL import Image

from live.tui.control_map import KNOBS
from live.web import WebConfig, check_web_config, panel_command
from tests.live.chromium import Chromium
from tests.live.fakes import sounding_after
from tests.tui.conftest import wait_until
from tests.live.jack_listener import ProcessListener
from tests.tui.test_jack_e2e import jack_backend  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
LISTEN = "0A"  # the TCP state column of /proc/net/tcp*


def test_panel_command_drops_only_the_web_flags():
    argv = ["--web", "--host=0.0.0.0", "--port", "9000", "--bundle_file", "m.safetensors", "--mode", "solo"]
    assert panel_command(argv).split()[1:] == ["-m", "live.cli", "--bundle_file", "m.safetensors", "--mode", "solo"]
    assert panel_command(["--we", "--port_name", "X"]).split()[3:] == ["--port_name", "X"]


def test_only_a_public_host_warns():
    assert check_web_config(WebConfig("127.0.0.1", 8000)) == []
    (warning,) = check_web_config(WebConfig("0.0.0.0", 8000))
    assert "anyone" in warning and "0.0.0.0" in warning
    with pytest.raises(ValueError, match="--port"):
        check_web_config(WebConfig("127.0.0.1", 70000))


def _cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "live.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)


def test_web_and_no_tui_do_not_mix():
    done = _cli("--web", "--no-tui")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--no-tui" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (IPv4 and IPv6, read from /proc)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == LISTEN and int(hex_port, 16) == port:
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]) if len(address) == 8
                          else address)
    return found


def _descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    return kids + [d for k in kids for d in _descendants(k)]


class WebServer:
    """`performance_rnn_live --web ...` as a subprocess; stopped with SIGTERM like Ctrl-C."""

    def __init__(self, *args, env=None):
        self.port = _free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "live.cli", "--web", "--port", str(self.port), *args],
                                     cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    async def wait_listening(self, timeout=30.0):
        assert await wait_until(lambda: self._listening() or self.proc.poll() is not None, timeout)
        assert self.proc.poll() is None, self.stop()

    def _listening(self):
        return bool(_listening(self.port))

    def stop(self) -> str:
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=30)
        return err


async def test_public_host_is_explicit_and_warned():
    server = WebServer("--host", "0.0.0.0")
    try:
        await server.wait_listening()
        assert _listening(server.port) == {"0.0.0.0"}
    finally:
        err = server.stop()
    assert "warning: --host 0.0.0.0" in err and "anyone" in err


def _ink(image: Image.Image, box) -> float:
    """Share of pixels in `box` that stand out from the box's most common colour (text strokes)."""
    values = np.asarray(image.crop(tuple(round(v) for v in box)).convert("L"), np.int16).ravel()
    background = np.bincount(values).argmax()
    return float(np.mean(np.abs(values - background) > 80))


def _cell_box(screen: dict, row: int, col: int, length: int):
    w, h = screen["width"] / screen["cols"], screen["height"] / len(screen["rows"])
    x, y = screen["left"] + col * w, screen["top"] + row * h
    return x, y, x + length * w, y + h


def _find(rows: list[str], text: str) -> tuple[int, int]:
    return next((r, row.index(text)) for r, row in enumerate(rows) if text in row)


def _stable_blank(before: list[str], after: list[str], width: int) -> tuple[int, int]:
    blank = " " * width
    return next((r, c) for r, row in enumerate(before) for c in range(len(row) - width + 1)
                if row[c:c + width] == blank and r < len(after) and after[r][c:c + width] == blank)


class Panels:
    """The instrument's virtual output, heard by a listener per panel process (each opens the port anew)."""

    def __init__(self, server: WebServer, name: str):
        self.server, self.name, self.listeners = server, name, []

    def pids(self) -> list[int]:
        return _descendants(self.server.proc.pid)

    async def listen(self) -> ProcessListener:
        """A listener on the newest panel's output, once that panel plays notes."""
        assert await wait_until(lambda: any(n.endswith(self.name) for n in mido.get_input_names()), 30)
        listener = ProcessListener(self.name)
        self.listeners.append(listener)
        assert await wait_until(lambda: any(m.type == "note_on" for _, m in listener.snapshot()), 15)
        return listener

    def close(self):
        for listener in self.listeners:
            listener.close()


def _ended_with_panic(listener: ProcessListener) -> bool:
    received = listener.snapshot()
    return any(m.type == "control_change" and m.control == 120 for _, m in received) and \
        sounding_after(received) == set()


@pytest.fixture
def panels(jack_backend, tmp_path):  # noqa: F811
    from tests.helpers import tiny_bundle

    bundle = tiny_bundle(tmp_path, "optional_multiconditioned_performance_with_dynamics")
    name = f"prnn-web-{time.monotonic_ns()}"
    server = WebServer("--bundle_file", str(bundle), "--no_input", "--mode", "solo", "--seed", "0",
                       "--port_name", name, env=jack_backend.env)
    panels = Panels(server, name)
    try:
        yield panels
    finally:
        panels.close()
        if server.proc.poll() is None:
            server.stop()


async def _drawn_panel(browser: Chromium, timeout: float = 60) -> dict:
    """The browser's terminal once every knob label is on it."""
    deadline = time.monotonic() + timeout
    while True:
        screen = await browser.screen_text() or {}
        if all(any(k.label in row for row in screen.get("rows", ())) for k in KNOBS):
            return screen
        assert time.monotonic() < deadline, screen.get("rows")
        await asyncio.sleep(0.2)


@pytest.mark.jack
@pytest.mark.slow
async def test_panel_in_chromium_shows_the_knobs_and_quits_with_a_panic(panels):
    server = panels.server
    await server.wait_listening()
    assert _listening(server.port) == {"127.0.0.1"}
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{server.port}/") as page:
        assert page.status == 200 and f"ws://127.0.0.1:{server.port}/ws" in await page.text()
    async with Chromium(1280, 900) as browser:
        await browser.open(f"http://127.0.0.1:{server.port}/")
        screen = await _drawn_panel(browser)
        listener = await panels.listen()
        png = Image.open(io.BytesIO(await browser.screenshot()))
        assert png.size == (1280, 900)
        rows = screen["rows"]
        # 12 cells blank before and after the shot (the panel is live), two blank cells either side so no
        # border line bleeds into the box.
        row, col = _stable_blank(rows, (await browser.screen_text())["rows"], 16)
        assert _ink(png, _cell_box(screen, row, col + 2, 12)) < 0.01
        for knob in KNOBS:
            assert _ink(png, _cell_box(screen, *_find(rows, knob.label), len(knob.label))) > 0.05, knob.label
        assert panels.pids()
    # The browser is gone: the panel quits, panicking first, and its process ends.
    assert await wait_until(lambda: not panels.pids(), 20)
    assert _ended_with_panic(listener)
    err = server.stop()
    assert server.proc.returncode == 0 and "warning" not in err, err[-2000:]


async def _connect(http, port: int):
    """A websocket client standing in for a browser; it reads everything the panel sends."""
    ws = await http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=120&height=40", max_msg_size=0)

    async def drain():
        async for _ in ws:
            pass
    return ws, asyncio.create_task(drain())


@pytest.mark.jack
@pytest.mark.slow
async def test_newest_browser_takes_over_and_ctrl_c_panics(panels):
    await panels.server.wait_listening()
    async with aiohttp.ClientSession() as http:
        first, first_reader = await _connect(http, panels.server.port)
        first_listener = await panels.listen()
        first_pids = panels.pids()
        second, second_reader = await _connect(http, panels.server.port)
        await asyncio.wait_for(first_reader, 20)  # the first browser is disconnected
        assert first.closed and _ended_with_panic(first_listener)
        second_listener = await panels.listen()
        second_pids = panels.pids()
        assert second_pids and not set(second_pids) & set(first_pids)
        err = panels.server.stop()  # SIGTERM, as Ctrl-C: the open panel quits with a panic
        assert panels.server.proc.returncode == 0, err[-2000:]
        assert _ended_with_panic(second_listener)
        assert not [pid for pid in second_pids if Path(f"/proc/{pid}").exists()]
        await asyncio.wait_for(second_reader, 10)
