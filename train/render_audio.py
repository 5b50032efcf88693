"""Offline audio for MIDI files: FluidSynth's command line renders a file to WAV with a General MIDI
soundfont (no sound card needed), e.g. to play a performance inline in a notebook."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import mido

from engine.errors import MidiReadError, PerformanceRnnError

# Where Debian/Ubuntu (fluid-soundfont-gm), Fedora, Arch and Homebrew put a GM soundfont.
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2",
              "/usr/share/soundfonts/FluidR3_GM.sf2", "/usr/share/soundfonts/default.sf2",
              "/opt/homebrew/share/soundfonts/default.sf2", "/usr/local/share/soundfonts/default.sf2")
SOUNDFONT_ENV = "PRNN_SOUNDFONT"
INSTALL_HINT = ("install FluidSynth and a General MIDI soundfont (Debian/Ubuntu: apt-get install fluidsynth "
                f"fluid-soundfont-gm; macOS: brew install fluid-synth) or set {SOUNDFONT_ENV}=/path/to/font.sf2")
RENDER_TIMEOUT = 300.0


class SynthUnavailable(PerformanceRnnError):
    """No FluidSynth or no soundfont on this machine: audio cannot be rendered (nothing else is wrong)."""


def find_soundfont(soundfont=None) -> Path:
    """The given soundfont, else $PRNN_SOUNDFONT, else the first of SOUNDFONTS that exists."""
    given = soundfont or os.environ.get(SOUNDFONT_ENV)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise SynthUnavailable(f"soundfont {path} does not exist; give an .sf2/.sf3 file or {INSTALL_HINT}")
        return path
    found = next((Path(p) for p in SOUNDFONTS if Path(p).is_file()), None)
    if found is None:
        raise SynthUnavailable(f"no General MIDI soundfont found; {INSTALL_HINT}")
    return found


def render_wav(midi, wav, soundfont=None, sample_rate: int = 22050, gain: float = 0.6) -> Path:
    """Render a MIDI file to a WAV file (written atomically) and return its path. Raises SynthUnavailable
    when FluidSynth or a soundfont is missing, PerformanceRnnError when rendering fails."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise SynthUnavailable(f"no synth to render audio with: {INSTALL_HINT}")
    font, midi, wav = find_soundfont(soundfont), Path(midi), Path(wav)
    try:
        mido.MidiFile(str(midi))
    except Exception as err:  # mido raises several types for garbage; fluidsynth would only say "no midi file"
        raise MidiReadError(f"{midi}: not a readable MIDI file ({str(err).splitlines()[0][:100]})") from None
    wav.parent.mkdir(parents=True, exist_ok=True)
    tmp = wav.with_name(f".{wav.stem}.tmp.wav")
    # -n -i: no MIDI input, no shell; -F: render as fast as possible to a file instead of a sound card.
    command = [exe, "-n", "-i", "-q", "-g", str(gain), "-r", str(sample_rate), "-T", "wav", "-F", str(tmp),
               str(font), str(midi)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_TIMEOUT)
    if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size <= 44:  # 44 bytes: a bare WAV header
        tmp.unlink(missing_ok=True)
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise PerformanceRnnError(f"fluidsynth could not render {midi.name}: {reason[-1] if reason else 'no output'}")
    tmp.replace(wav)
    return wav
