"""performance_rnn_plot: draw MIDI files as piano rolls (PNG, SVG or PDF), velocity as colour, one colour
per track (a take's player and model parts), sustain pedal shaded."""
from __future__ import annotations

import sys
from pathlib import Path

from .cli_common import Parser, fail, run


def parse_args(argv=None):
    p = Parser(prog="performance_rnn_plot", description=__doc__.splitlines()[0])
    p.add_argument("midi", nargs="+", help="MIDI files to draw")
    p.add_argument("-o", "--output", help="picture file (.png, .svg or .pdf; one MIDI file only); default: "
                   "beside each MIDI file, as .png")
    p.add_argument("--seconds", type=float, help="draw only the first N seconds")
    p.add_argument("--title", help="title above the roll")
    p.add_argument("--width", type=float, default=12.0, help="inches (at 100 dpi)")
    p.add_argument("--height", type=float, default=4.5, help="inches (at 100 dpi)")
    return p.parse_args(argv)


def plot(args) -> int:
    from .piano_roll import PlotSettings, plot_midi

    if args.output and len(args.midi) > 1:
        fail("-o names one picture; give one MIDI file, or drop -o to draw each beside its MIDI file")
    if (args.seconds is not None and args.seconds <= 0) or args.width <= 0 or args.height <= 0:
        fail("--seconds, --width and --height must be > 0")
    settings = PlotSettings(args.width, args.height, title=args.title, seconds=args.seconds)
    for path in args.midi:
        out = plot_midi(Path(path), args.output, settings)
        print(f"wrote {out}")
    return 0


def main(argv=None) -> int:
    return run(plot, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
