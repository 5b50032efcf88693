"""The sync flags of performance_rnn_live."""
from __future__ import annotations

from .timing import SYNC_MODES, SyncConfig


def add_sync_arguments(p) -> None:
    a = p.add_argument
    a("--sync", default="off", choices=SYNC_MODES, help="midi: follow MIDI beat clock and Start/Stop from the "
                                                        "input (or --clock-input); link: tempo, phase and "
                                                        "Start/Stop of an Ableton Link session; off: free time")
    a("--link-start", "--link_start", dest="link_start", action="store_true",
      help="--sync=link: press play on the Link session at launch (peers with Start/Stop Sync start too)")
    a("--clock-input", "--clock_input", dest="clock_input", metavar="PORT",
      help="--sync=midi: read the clock from this port instead of the input")
    a("--clock-out", "--clock_out", dest="clock_out", action="store_true",
      help="send MIDI clock (24 per beat) and Start/Stop at --bpm, so a DAW or drum machine follows us")
    a("--bpm", type=float, default=120.0, help="our tempo (20..300): the grid in free time and --clock-out")
    a("--quantize", type=float, default=0.0, help="0..100: percent each model note moves toward the grid")
    a("--sync-offset-ms", "--sync_offset_ms", dest="sync_offset_ms", type=float, default=0.0,
      help="send quantized notes this many ms before their grid line, to make up for the MIDI path's latency "
           "(JACK delivers at the next period: half a period on average, 1.33 ms at 128 frames / 48 kHz)")
    a("--grid", default="1/16", help="quantize grid: 1/4, 1/8, 1/16, 1/8t (triplet), 1/8. (dotted)...")


def sync_config(args) -> SyncConfig:
    """Raises ConfigError with a one-line message (the CLI exits 2)."""
    return SyncConfig(args.sync, args.bpm, args.quantize, args.grid, args.clock_out, args.clock_input,
                      args.link_start, args.sync_offset_ms)
