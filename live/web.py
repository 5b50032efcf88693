"""`performance_rnn_live --web`: the same instrument panel in a browser, served by textual-serve.

Each browser connection runs the panel as its own `performance_rnn_live` process (textual-serve's model),
one panel at a time so two tabs never drive the same MIDI output: the newest browser takes over. Bound to
127.0.0.1 unless --host says otherwise: the page has no password, and whoever opens it plays the instrument."""
from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from dataclasses import dataclass

DEFAULT_PORT = 8000
LOOPBACK = ("127.0.0.1", "localhost", "::1")
QUIT_SECONDS = 10.0  # a panel told to quit is ended after this long


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT


def add_web_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--web", action="store_true", help="serve the panel in a browser (http://HOST:PORT) instead of this terminal")
    a("--host", default=WebConfig.host, help="--web: address to listen on (default 127.0.0.1, this machine only; "
                                             "0.0.0.0 lets anyone on the network play it)")
    a("--port", type=int, default=DEFAULT_PORT, help=f"--web: TCP port (default {DEFAULT_PORT})")


def panel_command(argv: list[str]) -> str:
    """The shell command textual-serve runs per browser: this program with the same flags, minus the web ones.
    The parser mirrors the main one's abbreviation rules, so `--we` or `--ho=...` are stripped too."""
    web = argparse.ArgumentParser(add_help=False)
    add_web_arguments(web)
    _, rest = web.parse_known_args(argv)
    return shlex.join([sys.executable, "-m", "live.cli", *rest])


def check_web_config(config: WebConfig) -> list[str]:
    """Problems with the flags (exit 2), and the warning for a public address."""
    if not 1 <= config.port <= 65535:
        raise ValueError(f"--port must be in range 1..65535, not {config.port}")
    if config.host in LOOPBACK:
        return []
    return [f"warning: --host {config.host} serves the panel to the network with no password: anyone who can "
            f"reach port {config.port} can play the instrument and change its settings"]


def _int(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _panel_server_class():
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    class PanelProcess(AppService):
        """One panel process. textual-serve stops reading a panel's output once the browser is gone, so
        the panel blocks on a full pipe and never quits (its notes would sound on): here its output is
        drained until it exits, and a panel that ignores `quit` is ended."""

        async def on_data(self, payload: bytes) -> None:
            try:
                await super().on_data(payload)
            except ConnectionError:  # the browser left; keep reading so the panel can finish quitting
                pass

        async def on_meta(self, data: bytes) -> None:
            try:
                await super().on_meta(data)
            except ConnectionError:
                pass

        async def stop(self) -> None:
            """Quit (the panel panics first, as on `q`), wait for the process; end it if it hangs."""
            try:
                await asyncio.wait_for(super().stop(), QUIT_SECONDS)
            except asyncio.TimeoutError:
                print(f"the panel did not quit within {QUIT_SECONDS} s; ending it", file=sys.stderr, flush=True)
            process = self._process
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()

    class PanelServer(Server):
        """textual-serve's Server with our panel process, one panel at a time (the newest browser takes
        over: a reloaded tab, or a tablet whose old connection went quiet), and the page's websocket address
        taken from the browser's own request (textual-serve builds it from --host, and ws://0.0.0.0 means
        nothing to a tablet)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._one_panel = asyncio.Lock()
            self._open = None  # the websocket of the panel that is running
            self._newest = 0  # count of connections; only the newest waiting one gets the panel

        async def handle_index(self, request):
            # No await between this and the template's use of it, so concurrent requests cannot mix.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        async def on_shutdown(self, app) -> None:
            """Ctrl-C or SIGTERM: disconnect the browser, so its panel quits (and panics) at once; otherwise
            aiohttp waits for the open websocket to end by itself."""
            if self._open is not None:
                await self._open.close(message=b"the server is stopping")

        async def handle_websocket(self, request):
            self._newest += 1
            me = self._newest
            if self._open is not None:
                print("a new browser takes over the panel", file=sys.stderr, flush=True)
                await self._open.close(message=b"another browser took over the panel")
            async with self._one_panel:  # the previous panel quits (and panics) before this one starts
                if me != self._newest:
                    return web.Response(status=409, text="a newer browser took over the panel")
                websocket = self._open = web.WebSocketResponse(heartbeat=15)
                try:
                    await self._run_panel(request, websocket)
                finally:
                    self._open = None
            return websocket

        async def _run_panel(self, request, websocket) -> None:
            await websocket.prepare(request)
            panel = PanelProcess(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                 close=websocket.close, download_manager=self.download_manager, debug=self.debug)
            try:
                await panel.start(_int(request.query.get("width"), 80), _int(request.query.get("height"), 24))
                await self._process_messages(websocket, panel)
            finally:
                await panel.stop()  # also when the server shuts down: the panel still panics

    return PanelServer


def _fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def serve(config: WebConfig, argv: list[str]) -> int:
    """Serve until Ctrl-C or SIGTERM (each open panel quits, panic first, as on `q`)."""
    try:
        server_class = _panel_server_class()
    except ImportError:
        _fail("--web needs textual-serve: pip install 'performance-rnn-live[web]'")
    server = server_class(panel_command(argv), host=config.host, port=config.port, title="Performance RNN Live")
    print(f"performance_rnn_live: the panel is at http://{config.host}:{config.port} (one browser at a time: "
          "the newest takes over; Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve()
    except OSError as err:  # the port is taken, or the address is not this machine's
        _fail(f"cannot listen on {config.host}:{config.port} ({err.strerror or err}); pick another --port/--host")
    return 0


def run_web(args, argv: list[str]) -> int:
    """`performance_rnn_live --web ...`: check the flags, warn about a public address, serve."""
    if args.no_tui:
        _fail("--web serves the panel and --no-tui runs without one; drop one of them")
    config = WebConfig(args.host, args.port)
    try:
        warnings = check_web_config(config)
    except ValueError as err:
        _fail(str(err))
    for warning in warnings:
        print(warning, file=sys.stderr, flush=True)
    return serve(config, argv)
