"""The built-in General MIDI synth (FluidSynth through pyfluidsynth): sound with no DAW and no MIDI routing.

    synth = open_synth(SynthConfig(), report)      # None (after one line saying why) when it cannot sound
    port = SynthTee(midi_port, synth)              # what the scheduler sends to: the port and the synth

Every failure (library absent, no soundfont, a file that is not a SoundFont, no audio device) is one line
naming the fix; the instrument then runs MIDI-only."""
from __future__ import annotations

import os
import shutil
import signal
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 48000
PIANO = 0  # GM program 1, Acoustic Grand Piano (0-based as on the wire)
# Debian fluid-soundfont-gm / timgm6mb-soundfont, other distributions, Homebrew, MuseScore.
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2", "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/mscore-3.6/sound/MuseScore_General.sf3", "/usr/share/musescore/sound/MuseScore_General.sf3",
    "/opt/homebrew/share/soundfonts/default.sf2", "/usr/local/share/soundfonts/default.sf2",
    "~/.local/share/soundfonts/default.sf2",
)
# Tried in order when no --audio-driver is given; "jack" first only when a JACK server answers.
AUDIO_DRIVERS = ("pipewire", "pulseaudio", "alsa", "coreaudio", "dsound", "jack")
INSTALL_HINT = "apt-get install fluidsynth fluid-soundfont-gm (macOS: brew install fluid-synth)"


class SynthError(RuntimeError):
    """A one-line reason the synth cannot sound, with the fix."""


@dataclass
class SynthConfig:
    soundfont: str | None = None  # None: the first of SOUNDFONT_PATHS that exists
    audio_driver: str | None = None  # None: automatic; "none": render in-process only (tests, --record-audio)
    model_program: int = PIANO
    player_program: int = PIANO
    model_channel: int = 0
    gain: float = 0.5
    period_size: int = 64  # frames: 64 x 2 periods at 48 kHz is 2.7 ms of buffering where the driver allows


def find_soundfont(path: str | None = None) -> str:
    if path is not None:
        if not os.path.isfile(path):
            raise SynthError(f"no soundfont at {path}; give an existing .sf2/.sf3 file with --soundfont")
        with open(path, "rb") as f:
            head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise SynthError(f"{path} is not a SoundFont (.sf2/.sf3); give one with --soundfont or {INSTALL_HINT}")
        return path
    for candidate in SOUNDFONT_PATHS:
        full = os.path.expanduser(candidate)
        if os.path.isfile(full):
            return full
    raise SynthError(f"no General MIDI soundfont found; {INSTALL_HINT}, or pass --soundfont PATH")


def _load_binding():
    try:
        import fluidsynth
    except ImportError as err:  # the binding raises ImportError when libfluidsynth is missing too
        raise SynthError(f"FluidSynth is not available ({err}); {INSTALL_HINT} and pip install pyfluidsynth")
    return fluidsynth


def jack_running() -> bool:
    if shutil.which("jack_lsp") is None:
        return False
    import subprocess

    return subprocess.run(["jack_lsp"], capture_output=True, timeout=5).returncode == 0


class Synth:
    """One FluidSynth instance. send() takes mido messages (any thread: FluidSynth locks internally)."""

    def __init__(self, config: SynthConfig):
        fluidsynth = _load_binding()
        self._fl = fluidsynth
        self.config = config
        self.soundfont = find_soundfont(config.soundfont)
        self.driver_name = None
        self._driver = None
        self.listeners: list = []  # Synth-likes that get every message too (live.synth_meter's mirror)
        self._fs = fluidsynth.Synth(gain=config.gain, samplerate=SAMPLE_RATE, channels=16,
                                    **{"audio.period-size": config.period_size, "audio.periods": 2,
                                       "audio.jack.autoconnect": 1, "audio.jack.id": "performance_rnn_synth"})
        self._sfid = self._fs.sfload(self.soundfont)
        if self._sfid < 0:
            self._fs.delete()
            raise SynthError(f"FluidSynth cannot load {self.soundfont}; give a valid SoundFont with --soundfont")
        self.set_programs(config.model_program, config.player_program)

    def set_programs(self, model: int, player: int) -> None:
        """The model's channel gets `model`, every other channel (the player's thru) gets `player`."""
        self.config.model_program, self.config.player_program = model, player
        for channel in range(16):
            if channel != 9:  # GM drums stay drums
                program = model if channel == self.config.model_channel else player
                self._fs.program_select(channel, self._sfid, 0, program)

    def start_audio(self, driver: str | None = None) -> str:
        """Open an audio driver (automatic order unless named); returns its name, SynthError if none opens."""
        names = [driver] if driver else list(AUDIO_DRIVERS)
        if not driver and jack_running():
            names.insert(0, "jack")
        for name in names:
            self._fs.setting("audio.driver", name)
            # The driver's threads inherit this mask: Ctrl-C must reach Python's main thread, not interrupt
            # an audio (or JACK) thread mid-cycle.
            old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                self._driver = self._fl.new_fluid_audio_driver(self._fs.settings, self._fs.synth)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)
            if self._driver:
                self.driver_name = name
                return name
        tried = "/".join(names)
        raise SynthError(f"no audio device ({tried} all failed); start PipeWire/PulseAudio or a JACK server, "
                         "or pick one with --audio-driver")

    def send(self, msg) -> None:
        self._play(msg)
        for listener in self.listeners:
            listener.send(msg)

    def _play(self, msg) -> None:
        t = msg.type
        if t == "note_on":
            self._fs.noteon(msg.channel, msg.note, msg.velocity)
        elif t == "note_off":
            self._fs.noteoff(msg.channel, msg.note)
        elif t == "control_change":
            self._fs.cc(msg.channel, msg.control, msg.value)
        elif t == "pitchwheel":
            self._fs.pitch_bend(msg.channel, msg.pitch + 8192)
        elif t == "program_change" and msg.channel != 9:
            self._fs.program_change(msg.channel, msg.program)
            # kept in the config, which --record-audio renders the take with
            part = "model_program" if msg.channel == self.config.model_channel else "player_program"
            setattr(self.config, part, msg.program)

    def panic(self) -> None:
        """All sound off on every channel: voices stop now, release tails included."""
        for channel in range(16):
            self._fs.cc(channel, 123, 0)
            self._fs.cc(channel, 120, 0)
        for listener in self.listeners:
            listener.panic()

    def render(self, frames: int) -> np.ndarray:
        """In-process audio (only without a driver): float32 [frames, 2] in -1..1."""
        data = np.asarray(self._fs.get_samples(frames), dtype=np.int16).reshape(-1, 2)
        return data.astype(np.float32) / 32768.0

    def close(self) -> None:
        if self._fs is None:
            return
        self.panic()
        if self._driver:
            self._fl.delete_fluid_audio_driver(self._driver)
            self._driver = None
        self._fs.delete()
        self._fs = None


def open_synth(config: SynthConfig, report) -> Synth | None:
    """A sounding synth, or None after reporting one line (the instrument then runs MIDI-only)."""
    synth = None
    try:
        synth = Synth(config)
        if config.audio_driver != "none":
            name = synth.start_audio(config.audio_driver)
            report(f"synth: {os.path.basename(synth.soundfont)} through {name} (--no-synth to turn it off)")
        return synth
    except SynthError as err:
        if synth is not None:
            synth.close()
        report(f"synth off: {err}")
        return None


class SynthTee:
    """A port that forwards to a MIDI port (may be None) and to the synth; closing silences the synth."""

    def __init__(self, port, synth: Synth):
        self.port = port
        self.synth = synth
        self.name = getattr(port, "name", "synth")

    def send(self, msg) -> None:
        self.synth.send(msg)
        if self.port is not None:
            self.port.send(msg)

    def close(self) -> None:
        self.synth.panic()
        if self.port is not None:
            self.port.close()


def dbfs(block: np.ndarray) -> float:
    """Peak level of a block in dB relative to full scale (-inf for silence)."""
    peak = float(np.max(np.abs(block))) if block.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")
