"""`performance_rnn_live`: the real-time instrument. The TUI is the default; --no-tui runs headless."""
from __future__ import annotations

import os

# One BLAS thread for the model: a second one (not real-time) only waits for a free core on a busy machine,
# and the other core is JACK's. Must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import ast  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

from engine.errors import PerformanceRnnError  # noqa: E402
from engine.bundle_info import shipped_models_help  # noqa: E402

from .clock import HELPER_PRIORITY, make_realtime
from .ports import DEFAULT_OUTPUT, PortConfig, describe_ports
from .scheduler import EngineError, StateChanged
from .server_watch import exit_past_dead_clients
from .settings_cli import add_control_arguments, settings_from_args
from .sync.cli_args import add_sync_arguments, sync_config
from .web import add_web_arguments, run_web
from .synth_cli import add_synth_arguments, prepare_midi_system, synth_config


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="performance_rnn_live", description="Performance RNN as a live MIDI instrument.")
    a = p.add_argument
    a("--bundle_file", help="model bundle: a file, or a shipped model by name (default: the first): "
      + shipped_models_help())
    a("--input", metavar="NAME", help=f"an existing input port, matched loosely (default: a virtual port "
                                      f"'{DEFAULT_OUTPUT} in')")
    a("--all_inputs", action="store_true", help="listen to every input port")
    a("--no_input", action="store_true", help="open no input port")
    a("--output", metavar="NAME", help=f"an existing output port (default: a virtual port '{DEFAULT_OUTPUT}')")
    a("--port_name", default=DEFAULT_OUTPUT, help="name of the virtual ports (the input gets ' in' appended)")
    a("--panic", action="store_true", help="silence synths after a crash: note-offs for every note, sustain off, "
                                           "CC 123 and CC 120 on all 16 channels, to --output (default: every "
                                           "output port), then exit")
    a("--list-ports", "--list_ports", dest="list_ports", action="store_true", help="list MIDI ports and exit")
    a("--record", metavar="PATH", nargs="?", const="", help="write the session (player and model tracks) to this "
      "MIDI file on exit (no PATH: a dated file in the takes folder)")
    a("--takes-dir", "--takes_dir", dest="takes_dir", metavar="DIR", help="where takes (r, --record) are saved "
      "(default: a folder named by date and time in <config dir>/takes, which performance_rnn_finetune reads)")
    a("--no-tui", "--no_tui", dest="no_tui", action="store_true", help="run headless")
    a("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    a("--seed", type=int, help="random seed (the same seed and input give the same notes)")
    a("--primer_midi", help="prime the model with this MIDI file (heard, not played)")
    a("--primer_pitches", help='prime with a chord, e.g. "[60, 64, 67]"')
    a("--primer_melody", help='prime with a melody (-2 hold, -1 off, 0..127 on)')
    a("--reconnect", action="store_true", help="headless: if the JACK server dies, wait for it to return "
                                               "(default: stop with an error; the TUI always waits)")
    a("--verbose", action="store_true", help="headless: print every note and state change")
    add_control_arguments(p)
    add_web_arguments(p)
    add_synth_arguments(p)
    add_sync_arguments(p)
    return p


def _fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _int_list(flag: str, text):
    if text is None:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        _fail(f"--{flag} must be a list of integers like [60, 64, 67], not {text!r}")
    return list(value) if isinstance(value, (list, tuple)) else _fail(f"--{flag} must be a list, not {text!r}")


def _takes_folder(args):
    """--takes-dir, else this session's dated folder under the default takes folder (made on first save)."""
    import datetime
    from pathlib import Path

    from engine.user_dirs import takes_dir

    if args.takes_dir:
        return Path(args.takes_dir).expanduser()
    return takes_dir() / datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def session_config(args):
    from .session import SessionConfig

    if args.record == "":
        args.record = str(_takes_folder(args) / "take.mid")
    if args.duration is not None and args.duration <= 0:
        _fail(f"--duration must be > 0 seconds, not {args.duration}")
    ports = PortConfig(args.output, args.input, args.all_inputs, args.no_input, args.port_name)
    return SessionConfig(
        settings=settings_from_args(args), bundle_file=args.bundle_file, ports=ports, seed=args.seed,
        primer_midi=args.primer_midi, primer_pitches=_int_list("primer_pitches", args.primer_pitches),
        primer_melody=_int_list("primer_melody", args.primer_melody), record=args.record, duration=args.duration,
        reconnect=args.reconnect or not args.no_tui, synth=synth_config(args, _fail), record_audio=args.record_audio,
        sync=sync_config(args))


def _printer(verbose: bool):
    def show(event):
        if isinstance(event, EngineError):
            print(f"error: {event.text}", file=sys.stderr, flush=True)
        elif isinstance(event, StateChanged) and event.key == "notice":
            print(event.value, file=sys.stderr, flush=True)
        elif verbose and isinstance(event, StateChanged):
            print(f"{event.key}: {event.value}", file=sys.stderr, flush=True)
        elif verbose and hasattr(event, "message"):
            print(f"{event.seconds:8.3f} {event.part:6} {event.message}", file=sys.stderr, flush=True)
    return show


def run_headless(session, verbose: bool = False) -> int:
    stop = threading.Event()
    # SIGTERM and Ctrl-C end the same way: the main thread stops the session (panic, close, save). A handler
    # rather than KeyboardInterrupt: a second Ctrl-C then only sets the event again, whenever it comes.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"performance_rnn_live: {session.output_name} <- {session.input_name}; mode "
          f"{session.settings.mode}; Ctrl-C stops", file=sys.stderr, flush=True)
    if session.config.realtime:
        make_realtime(HELPER_PRIORITY)  # this thread takes the GIL every 50 ms: it must not be preempted
    session.start()
    while not stop.is_set() and not session.wait(0.05):
        pass
    path = session.stop()
    print(session.summary(), file=sys.stderr, flush=True)
    if path:
        print(f"recorded {path}", file=sys.stderr, flush=True)
    return 1 if session.scheduler.error is not None or session.fault else 0


def _run_tui(config, args) -> int:
    """The panel in this process, the real-time core (clock, ports, model) in a child process."""
    from engine.user_dirs import config_dir

    from .core_client import CoreClient

    takes = _takes_folder(args)
    log = config_dir() / "core.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    core = CoreClient(config, recordings_dir=takes, log_path=str(log))  # the model loads while Textual imports
    try:
        from .tui.app import make_app

        app = make_app(core, recordings_dir=takes, takes_root=takes if args.takes_dir else None)
        saved = app.run() or []  # the app panics and stops the core on quit
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        saved = locals().get("saved", []) + core.stop_clock()
    print(core.summary(), file=sys.stderr)
    for path in filter(None, saved):
        print(f"recorded {path}", file=sys.stderr)
    return 1 if core.failed else 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.list_ports:
            print(describe_ports())
            return 0
        if args.panic:
            from .panic import run_panic

            print(run_panic(args.output), file=sys.stderr)
            return 0
        config = session_config(args)
        if args.web:
            return run_web(args, sys.argv[1:] if argv is None else list(argv))
        from engine.bundle_info import existing_bundle

        existing_bundle(config.bundle_file)  # a bad model name or path fails before any server starts
        undo_midi_system = prepare_midi_system(args, _fail)
        try:
            if not args.no_tui:
                return _run_tui(config, args)
            from .session import EventPump, Session

            pump = EventPump(_printer(args.verbose))
            session = Session(config, on_event=pump)
            code = run_headless(session, args.verbose)
            pump.close()
        finally:
            undo_midi_system()
        if session.lost_server:
            exit_past_dead_clients(code)
        return code
    except PerformanceRnnError as err:
        _fail(str(err))


if __name__ == "__main__":
    sys.exit(main())
