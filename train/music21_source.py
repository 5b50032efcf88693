"""The music21 corpus as training data: `music21:` specs to corpus paths, and scores to timed notes."""
from __future__ import annotations

import bisect
from pathlib import Path

from engine.errors import MidiReadError, PerformanceRnnError

PREFIX = "music21:"
DEFAULT_VELOCITY = 80  # most corpus files mark no dynamics
SKIPPED_EXTENSIONS = (".rntxt",)  # Roman-numeral analyses: block chords, not music to learn from


def is_music21_spec(text: str) -> bool:
    return text.startswith(PREFIX)


def corpus_paths(spec: str) -> list[Path]:
    """'music21:' is the whole corpus; 'music21:bach,palestrina' composers; 'music21:bach/bwv66.6' one work."""
    from music21 import corpus

    items = [item.strip() for item in spec[len(PREFIX):].split(",") if item.strip()]
    paths = [Path(p) for p in corpus.getPaths()] if not items else []
    for item in items:
        found = [Path(p) for p in corpus.getComposer(item)] or _work_paths(item)
        if not found:
            raise PerformanceRnnError(f"no music21 corpus composer or work named {item!r}; "
                                      "try e.g. music21:bach or music21:bach/bwv66.6")
        paths.extend(found)
    unique = dict.fromkeys(p for p in paths if p.suffix.lower() not in SKIPPED_EXTENSIONS)
    return sorted(unique)


def _work_paths(item: str) -> list[Path]:
    from music21 import corpus

    try:
        found = corpus.getWork(item)
    except Exception:  # music21 raises several types for unknown works
        return []
    found = found if isinstance(found, list) else [found]
    return [Path(p) for p in found if p]


def _velocity_lookup(score) -> dict[int, int]:
    """id(note or chord) -> MIDI velocity from the latest dynamic mark in its own part."""
    from music21 import chord, dynamics, note

    velocities = {}
    parts = list(score.parts) or [score]
    for part in parts:
        flat = part.flatten()
        marks = sorted((d.offset, d.volumeScalar) for d in flat.getElementsByClass(dynamics.Dynamic)
                       if d.volumeScalar is not None)
        offsets = [m[0] for m in marks]
        for element in flat.getElementsByClass((note.Note, chord.Chord)):
            i = bisect.bisect_right(offsets, element.offset) - 1
            if i >= 0:
                velocities[id(element)] = int(min(127, max(1, round(marks[i][1] * 127))))
    return velocities


def _seconds_map(flat):
    from music21 import tempo
    from music21.exceptions21 import Music21Exception

    try:
        return flat.secondsMap
    except Music21Exception:
        # A text-only tempo mark (no number) makes secondsMap fail; drop those marks and retry.
        for mark in list(flat.getElementsByClass(tempo.MetronomeMark)):
            if mark.number is None:
                flat.remove(mark)
        return flat.secondsMap


def score_tuples(score) -> list[tuple[int, float, float, int]]:
    """(pitch, start_s, end_s, velocity) per sounding pitch, at the score's tempo (120 qpm if unmarked)."""
    from music21 import chord, note

    stripped = score.stripTies()
    velocities = _velocity_lookup(stripped)
    out = []
    for entry in _seconds_map(stripped.flatten()):
        element = entry["element"]
        if not isinstance(element, (note.Note, chord.Chord)):
            continue
        start, end = float(entry["offsetSeconds"]), float(entry["endTimeSeconds"])
        if end <= start:  # grace notes have no duration
            continue
        velocity = velocities.get(id(element), DEFAULT_VELOCITY)
        pitches = element.pitches if isinstance(element, chord.Chord) else (element.pitch,)
        out.extend((int(p.midi), start, end, velocity) for p in pitches if 0 <= p.midi <= 127)
    return out


def load_scores(path) -> list[tuple[str, list[tuple[int, float, float, int]]]]:
    """(piece name, note tuples) per score in a corpus file (an abc file may hold many tunes)."""
    from music21 import converter, stream

    path = Path(path)
    try:
        parsed = converter.parse(path, forceSource=True)
    except Exception as err:  # music21 parsers raise anything from ValueError to their own types
        raise MidiReadError(f"cannot parse {path.name}: {type(err).__name__}: {err}") from err
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    pieces = []
    for index, score in enumerate(scores):
        name = path.stem if len(scores) == 1 else f"{path.stem}#{index}"
        pieces.append((name, score_tuples(score)))
    return pieces
