"""Opening MIDI ports through mido (MIDO_BACKEND picks the API): virtual or named, loose name matching,
errors that list what exists, and a watcher that reports a lost port and reconnects when it returns."""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import mido

from engine.errors import PerformanceRnnError

from .clock import HELPER_PRIORITY, make_realtime
from .commands import ReplaceOutput
from .server_watch import uses_jack

DEFAULT_OUTPUT = "Performance RNN"
LOOPMIDI = ("virtual MIDI ports are not supported on windows; install loopMIDI "
            "(https://www.tobias-erichsen.de/software/loopmidi.html), create a port, and pass its name "
            "with --output NAME (and --input NAME)")


class PortError(PerformanceRnnError):
    """A MIDI port cannot be found or opened."""


@dataclass
class PortConfig:
    output: str | None = None  # an existing output port (matched loosely); None: a virtual port
    input: str | None = None  # an existing input port; None: a virtual port
    all_inputs: bool = False  # listen to every input port instead
    no_input: bool = False  # no input at all (solo without a keyboard)
    virtual_name: str = DEFAULT_OUTPUT  # the virtual output's name; the input is "<name> in"

    @property
    def virtual_input_name(self) -> str:
        return f"{self.virtual_name} in"


def _names(lister, direction: str) -> list[str]:
    try:
        return list(dict.fromkeys(lister()))
    except Exception as err:  # rtmidi raises SystemError/RuntimeError when no MIDI API can be reached
        raise PortError(f"cannot list MIDI {direction} ports ({str(err).strip() or type(err).__name__}); "
                        "on Linux start a JACK server (and set MIDO_BACKEND=mido.backends.rtmidi/UNIX_JACK) "
                        "or load ALSA's snd-seq") from None


def input_names() -> list[str]:
    return _names(mido.get_input_names, "input")


def output_names() -> list[str]:
    return _names(mido.get_output_names, "output")


def match_port(name: str, available: list[str], direction: str) -> str:
    """Exact name, else the one port whose name contains `name` (case and spacing ignored)."""
    if name in available:
        return name
    wanted = " ".join(name.lower().split())
    hits = [p for p in available if wanted in " ".join(p.lower().split())]
    if len(hits) == 1:
        return hits[0]
    listing = ", ".join(repr(p) for p in available) or "none"
    if hits:
        raise PortError(f"{direction} port {name!r} is ambiguous: it matches {', '.join(map(repr, hits))}; "
                        "give more of the name")
    raise PortError(f"unknown {direction} port {name!r}; available: {listing} (see --list-ports)")


def _virtual_guard() -> None:
    if sys.platform.startswith("win"):
        raise PortError(LOOPMIDI)


def open_output(config: PortConfig):
    """Returns (port, description)."""
    try:
        if config.output is None:
            _virtual_guard()
            return mido.open_output(config.virtual_name, virtual=True), f"virtual output {config.virtual_name!r}"
        name = match_port(config.output, output_names(), "output")
        return mido.open_output(name), f"output {name!r}"
    except NotImplementedError:
        raise PortError(LOOPMIDI) from None
    except (OSError, SystemError, RuntimeError) as err:
        raise PortError(f"cannot open the MIDI output ({err}); check --output and the MIDI system") from None


def open_inputs(config: PortConfig, callback) -> tuple[list, str]:
    """Returns (ports, description). Callbacks run on the MIDI thread: keep them tiny (enqueue only)."""
    if config.no_input:
        return [], "no input"
    try:
        # Our own virtual output shows up as an input: never listen to ourselves (a feedback loop).
        own = config.virtual_name if config.output is None else None
        names = [n for n in input_names() if own is None or n.split(":")[-1] != own]
        if config.all_inputs:
            ports = _open_input(config, callback, names)
            return ports, f"all inputs ({', '.join(map(repr, names)) or 'none yet'})"
        if config.input is None:
            _virtual_guard()
            name = config.virtual_input_name
            return _open_input(config, callback), f"virtual input {name!r}"
        name = match_port(config.input, names, "input")
        return _open_input(config, callback, [name]), f"input {name!r}"
    except NotImplementedError:
        raise PortError(LOOPMIDI) from None
    except (OSError, SystemError, RuntimeError) as err:
        raise PortError(f"cannot open the MIDI input ({err}); check --input and the MIDI system") from None


def _open_input(config: PortConfig, callback, sources: list[str] | None = None) -> list:
    """Ports listening to `sources` (None: a virtual input). On JACK one JackMidiInput port connected to
    them all: RtMidi's JACK input garbles chords (see live/jack_midi_in.py)."""
    if uses_jack():
        from .jack_midi_in import JackMidiInput

        return [JackMidiInput(config.virtual_name, config.virtual_input_name, callback, sources or ())]
    if sources is None:
        return [mido.open_input(config.virtual_input_name, virtual=True, callback=callback)]
    return [mido.open_input(n, callback=callback) for n in sources]


def describe_ports() -> str:
    """The --list-ports text."""
    lines = []
    for title, names in (("inputs", input_names()), ("outputs", output_names())):
        lines += [f"{title}:"] + ([f"  {n}" for n in names] or ["  (none)"])
    return "\n".join(lines)


class PortLister:
    """Lists ports through one long-lived client. mido.get_*_names() open and close a client per call, and
    rtmidi holds the GIL meanwhile: each call stalled the clock thread by ~25 ms (JACK, measured); listing
    through a client kept open takes ~0.2 ms. Build it before the clock starts; use it from one thread."""

    def __init__(self):
        self._in = self._out = None
        backend = mido.backend
        if backend.name == "mido.backends.rtmidi":
            import rtmidi

            api = getattr(rtmidi, f"API_{backend.api}", rtmidi.API_UNSPECIFIED) if backend.api else 0
            try:
                self._in, self._out = rtmidi.MidiIn(rtapi=api), rtmidi.MidiOut(rtapi=api)
            except Exception:  # no MIDI system reachable now: fall back to mido's listing (and its errors)
                self._in = self._out = None

    def inputs(self) -> list[str]:
        return list(dict.fromkeys(self._in.get_ports())) if self._in is not None else input_names()

    def outputs(self) -> list[str]:
        return list(dict.fromkeys(self._out.get_ports())) if self._out is not None else output_names()

    def close(self) -> None:
        for client in (self._in, self._out):
            if client is not None:
                client.delete()
        self._in = self._out = None


class PortWatcher:
    """Checks named ports every `interval` s off the clock thread. A lost output: ReplaceOutput(None) (the
    scheduler panics and goes quiet) and a message; when it returns: reopened and handed over. A lost
    named input is reopened the same way. Virtual ports are ours and cannot be lost."""

    def __init__(self, config: PortConfig, commands, callback, inputs: list, report, output=None,
                 interval: float = 1.0):
        self.config, self.commands, self.callback, self.output = config, commands, callback, output
        self.inputs, self.report, self.interval = inputs, report, interval
        self.output_lost = self.input_lost = False
        self._stop = threading.Event()
        self._retired: list = []  # ports replaced on the clock thread, closed here one round later
        self._thread = threading.Thread(target=self._run, name="port-watcher", daemon=True)
        self.lister = None

    def needed(self) -> bool:
        named_input = self.config.input is not None and not self.config.no_input and not self.config.all_inputs
        return self.config.output is not None or named_input

    def start(self) -> None:
        """Call before the clock starts: the lister's clients open here (the slow part)."""
        if self.needed():
            self.lister = PortLister()
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * self.interval + 1)
        if self.lister is not None:
            self.lister.close()

    def _run(self) -> None:
        make_realtime(HELPER_PRIORITY)
        while not self._stop.wait(self.interval):
            retired = self._retired + (self.output.take_retired() if self.output is not None else [])
            self._retired = []
            for port in retired:
                _close_quietly(port)
            try:
                self.check()
            except PortError as err:
                self.report(f"port check failed: {err}")

    def check(self) -> None:
        if self.config.output is not None:
            self._check_output()
        if self.config.input is not None and not self.config.no_input and not self.config.all_inputs:
            self._check_input()

    def _present(self, name: str, names: list[str]) -> bool:
        try:
            match_port(name, names, "")
            return True
        except PortError:
            return False

    def _check_output(self) -> None:
        present = self._present(self.config.output, self.lister.outputs() if self.lister else output_names())
        if not present and not self.output_lost:
            self.output_lost = True
            self.commands.put(ReplaceOutput(None, f"output {self.config.output!r} lost"))
            self.report(f"output port {self.config.output!r} was lost: notes off; waiting for it to return")
        elif present and self.output_lost:
            port, description = open_output(self.config)
            self.output_lost = False
            self.commands.put(ReplaceOutput(port, f"reconnected {description}"))
            self.report(f"reconnected {description}")

    def _check_input(self) -> None:
        present = self._present(self.config.input, self.lister.inputs() if self.lister else input_names())
        if not present and not self.input_lost:
            self.input_lost = True
            self._retired += self.inputs
            self.inputs.clear()
            self.report(f"input port {self.config.input!r} was lost; waiting for it to return")
        elif present and self.input_lost:
            ports, description = open_inputs(self.config, self.callback)
            self.inputs += ports
            self.input_lost = False
            self.report(f"reconnected {description}")


def _close_quietly(port) -> None:
    try:
        port.close()
    except Exception:  # closing a port whose device vanished may fail; it is gone either way
        pass
