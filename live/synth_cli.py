"""The command-line side of the built-in synth and of the MIDI-system fallback (live.synth, live.midi_system)."""
from __future__ import annotations

import sys

from .midi_system import MidiSystemError, ensure_midi_system
from .synth import SynthConfig


def add_synth_arguments(p) -> None:
    a = p.add_argument
    a("--synth", dest="synth", action="store_true", default=None,
      help="play through the built-in FluidSynth (default: on unless --output is given)")
    a("--no-synth", "--no_synth", dest="synth", action="store_false", help="MIDI out only, no built-in synth")
    a("--soundfont", metavar="PATH", help="General MIDI .sf2/.sf3 (default: the first found, e.g. FluidR3_GM)")
    a("--audio-driver", "--audio_driver", dest="audio_driver", metavar="NAME",
      help="FluidSynth audio driver: pipewire, pulseaudio, alsa, jack, coreaudio, dsound (default: automatic)")
    a("--record-audio", "--record_audio", dest="record_audio", metavar="PATH",
      help="write what the synth plays to this WAV file on exit (aligned with --record)")


def synth_config(args, fail) -> SynthConfig | None:
    on = args.synth if args.synth is not None else args.output is None
    if args.record_audio and not on:
        fail("--record-audio records the built-in synth: drop --no-synth (or add --synth with --output)")
    if not on:
        return None
    return SynthConfig(soundfont=args.soundfont, audio_driver=args.audio_driver, model_program=args.program - 1,
                       player_program=args.player_program - 1, model_channel=args.channel - 1)


def prepare_midi_system(args, fail):
    """Pick the MIDI API, starting a private JACK server where there is no MIDI system and the user named
    no port (a named port lives in a MIDI system the user runs); returns the undo."""
    try:
        return ensure_midi_system(lambda text: print(text, file=sys.stderr, flush=True),
                                  start_server=not (args.output or args.input))
    except MidiSystemError as err:
        fail(str(err))
