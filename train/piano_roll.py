"""Piano-roll pictures of MIDI files: notes as bars coloured by velocity, one colour family per track (a
take's player and model parts), sustain pedal shaded, time in seconds. matplotlib is imported lazily (an
optional dependency: `pip install performance-rnn-live[plot]`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from engine.errors import MidiReadError, PerformanceRnnError
from engine.midi_file import read_midi
from engine.notes import NoteList

SUSTAIN = 64
COLORMAPS = ("Blues", "Oranges", "Greens", "Purples", "Reds", "Greys")  # one per track, dark = loud


@dataclass(frozen=True)
class PlotSettings:
    width: float = 12.0  # inches
    height: float = 4.5
    dpi: int = 100
    title: str | None = None
    seconds: float | None = None  # show only the first N seconds


@dataclass
class Part:
    """One track's notes (sustain not applied: the bars show the keys) and its pedal-down spans."""

    name: str
    notes: NoteList
    pedal: list[tuple[float, float]]


def _conductor(track: mido.MidiTrack) -> mido.MidiTrack:
    """The meta events of a track (tempo map), with the channel events' delta times kept."""
    out, carry = mido.MidiTrack(), 0
    for msg in track:
        if msg.is_meta:
            out.append(msg.copy(time=msg.time + carry))
            carry = 0
        else:
            carry += msg.time
    return out


def _track_name(track: mido.MidiTrack, index: int) -> str:
    return next((m.name for m in track if m.type == "track_name" and m.name.strip()), f"track {index + 1}")


def _pedal_spans(notes_file: mido.MidiFile) -> list[tuple[float, float]]:
    spans, down, now = [], None, 0.0
    for msg in notes_file:  # iterating a MidiFile yields delta times in seconds
        now += msg.time
        if msg.type == "control_change" and msg.control == SUSTAIN:
            if msg.value >= 64 and down is None:
                down = now
            elif msg.value < 64 and down is not None:
                spans.append((down, now))
                down = None
    return spans + ([(down, now)] if down is not None else [])


def read_parts(path) -> list[Part]:
    """Each track with notes as a part; tracks share the first track's tempo map."""
    try:
        midi = mido.MidiFile(str(path))
    except Exception as err:  # mido raises several types for garbage
        raise MidiReadError(f"{path}: not a readable MIDI file ({str(err).splitlines()[0][:100]})") from None
    parts = []
    for index, track in enumerate(midi.tracks):
        single = mido.MidiFile(ticks_per_beat=midi.ticks_per_beat)
        single.tracks = [track] if index == 0 else [_conductor(midi.tracks[0]), track]
        if not any(m.type == "note_on" and m.velocity for m in track):
            continue
        notes = read_midi(single, include_drums=True, apply_sustain=False)
        parts.append(Part(_track_name(track, index), notes, _pedal_spans(single)))
    if not parts:
        raise MidiReadError(f"{path}: no notes to draw")
    return parts


def draw(parts: list[Part], out: Path, settings: PlotSettings = PlotSettings()) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle
    except ImportError:
        raise PerformanceRnnError("drawing piano rolls needs matplotlib: pip install 'performance-rnn-live[plot]'") \
            from None
    fig, ax = plt.subplots(figsize=(settings.width, settings.height), dpi=settings.dpi)
    end = settings.seconds or max(float(p.notes.end.max()) for p in parts)
    low = min(int(p.notes.pitch.min()) for p in parts) - 2
    high = max(int(p.notes.pitch.max()) for p in parts) + 2
    for i, part in enumerate(parts):
        cmap = plt.get_cmap(COLORMAPS[i % len(COLORMAPS)])
        for start, stop in part.pedal:
            ax.axvspan(start, stop, ymin=0, ymax=0.025, color=cmap(0.5), alpha=0.35, lw=0)
        n = part.notes
        bars = [Rectangle((s, p - 0.4), max(e - s, 0.01), 0.8) for s, e, p in zip(n.start, n.end, n.pitch)]
        colors = cmap(0.35 + 0.65 * np.asarray(n.velocity, float) / 127)
        ax.add_collection(PatchCollection(bars, facecolors=colors, edgecolors="none"))
        ax.plot([], [], color=cmap(0.8), lw=6, label=f"{part.name} ({len(n)} notes)")
    ax.set_xlim(0, end)
    ax.set_ylim(low, high)
    ax.set_xlabel("seconds")
    ax.set_ylabel("MIDI pitch")
    ax.grid(axis="y", alpha=0.2)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=len(parts), fontsize="small", frameon=False)
    ax.set_title(settings.title or "light = soft, dark = loud; pedal: shading along the bottom",
                 fontsize="medium", loc="right")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")  # same suffix: matplotlib picks the format by it
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out)
    return out


def plot_midi(path, out=None, settings: PlotSettings = PlotSettings()) -> Path:
    """Draw a MIDI file's piano roll to `out` (default: beside it, .png)."""
    out = Path(out) if out else Path(path).with_suffix(".png")
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise PerformanceRnnError(f"cannot draw to {out.name}: give a .png, .svg or .pdf file")
    return draw(read_parts(path), out, settings)
