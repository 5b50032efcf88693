"""Magenta's dataset pipeline per source file: split by piece, stretch, 30 s chunks, extract, filter, truncate.

Sustain is applied by read_midi (the corpus has no pedal). Stretching is precomputed here (it moves events
across chunk borders); transposition and the optional-conditioning flag are applied at batch time.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from engine.configs import get_config
from engine.errors import PerformanceRnnError
from engine.midi_file import read_midi
from engine.notes import NoteList
from engine.performance import Performance
from engine.transform import SPLIT_SECONDS, STRETCH_FACTORS, TRANSPOSITIONS, split_notes, stretch

from . import music21_source
from .sources import Source


@dataclass(frozen=True)
class BuildSettings:
    """What decides the dataset's content (recorded in the manifest)."""

    config_name: str
    eval_ratio: float = 0.1
    seed: int = 0
    split_by: str = "file"  # "folder": all files of a folder are one piece (several pianists, one score)
    min_events: int = 32  # shorter chunks are discarded (Magenta's PerformanceExtractor)
    max_events: int = 512  # longer chunks are truncated to their first 512 events
    split_seconds: float = SPLIT_SECONDS
    stretch_factors: tuple[float, ...] = STRETCH_FACTORS  # training split only
    transpositions: tuple[int, ...] = TRANSPOSITIONS  # training split only, applied at batch time

    def to_dict(self) -> dict:
        return {"config": self.config_name, "eval_ratio": self.eval_ratio, "seed": self.seed,
                "split_by": self.split_by,
                "min_events": self.min_events, "max_events": self.max_events,
                "split_seconds": self.split_seconds, "stretch_factors": list(self.stretch_factors),
                "transpositions": list(self.transpositions)}


@dataclass
class PieceResult:
    """One piece's examples: class ids per chunk and stretch, with their pitch range."""

    source: str
    name: str
    split: str
    num_notes: int
    seconds: float
    ids: list[np.ndarray] = field(default_factory=list)
    chunk: list[int] = field(default_factory=list)
    stretch: list[int] = field(default_factory=list)
    pitch_range: list[tuple[int, int]] = field(default_factory=list)
    discarded: Counter = field(default_factory=Counter)


@dataclass
class SourceResult:
    source: Source
    pieces: list[PieceResult] = field(default_factory=list)
    skipped: str | None = None  # reason category, when the whole file was skipped
    message: str = ""


def piece_split(settings: BuildSettings, key: str) -> str:
    """Deterministic per piece (independent of order and worker count): a seeded hash against eval_ratio."""
    digest = hashlib.sha256(f"{settings.seed}:{key}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2.0 ** 64
    return "eval" if fraction < settings.eval_ratio else "training"


def source_key(source: Source, split_by: str = "file") -> str:
    """A machine-independent name, so the split does not depend on where the files are: corpus files
    relative to the corpus folder, folder pieces by their folder under --input, other files by the sha256
    of their bytes (identical copies agree)."""
    if split_by == "folder" and source.kind == "midi" and source.folder:
        return f"folder:{source.folder}"
    if source.kind == "music21":
        return source.path.split("/corpus/", 1)[-1]
    try:
        with open(source.path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return source.path  # reading it will fail and report why


def _read_pieces(source: Source) -> list[tuple[str, NoteList]]:
    if source.kind == "music21":
        return [(name, NoteList.from_tuples(rows)) for name, rows in music21_source.load_scores(source.path)]
    return [("", read_midi(source.path))]


def _chunk_examples(settings: BuildSettings, num_bins: int, piece: PieceResult, notes: NoteList,
                    stretch_index: int) -> None:
    factor = (settings.stretch_factors if piece.split == "training" else (1.0,))[stretch_index]
    for chunk_index, chunk in enumerate(split_notes(stretch(notes, factor), settings.split_seconds)):
        if len(np.unique(chunk.program)) > 1:
            piece.discarded["more_than_1_program"] += 1
            continue
        ids = Performance.from_notes(chunk, num_bins).ids
        if len(ids) < settings.min_events:
            piece.discarded["too_short"] += 1
            continue
        if len(ids) > settings.max_events:
            piece.discarded["truncated (kept)"] += 1
            ids = ids[:settings.max_events]
        pitched = chunk.pitch[~chunk.is_drum]
        piece.ids.append(ids.astype(np.int16))
        piece.chunk.append(chunk_index)
        piece.stretch.append(settings.stretch_factors.index(factor) if piece.split == "training" else 0)
        piece.pitch_range.append((int(pitched.min(initial=127)), int(pitched.max(initial=0))))


def process_piece(settings: BuildSettings, source: Source, name: str, notes: NoteList,
                  split: str | None = None) -> PieceResult:
    """One piece's examples; `split` forces its side (else a seeded hash of its key decides)."""
    if split is None:
        key = source_key(source, settings.split_by)
        split = piece_split(settings, f"{key}#{name}" if name else key)
    piece = PieceResult(source.name, name, split, len(notes), notes.total_time)
    if not len(notes):
        piece.discarded["no_notes"] += 1
        return piece
    num_bins = get_config(settings.config_name).num_velocity_bins
    factors = settings.stretch_factors if split == "training" else (1.0,)
    for stretch_index in range(len(factors)):
        _chunk_examples(settings, num_bins, piece, notes, stretch_index)
    return piece


def _skip_reason(message: str) -> str:
    if "no notes" in message or "only drum" in message:
        return "no notes"
    if "corrupt" in message:
        return "corrupt file"
    return "unreadable"


def process_source(settings: BuildSettings, source: Source) -> SourceResult:
    """Never raises: a file that cannot be read comes back as skipped with its reason."""
    result = SourceResult(source)
    try:
        for name, notes in _read_pieces(source):
            result.pieces.append(process_piece(settings, source, name, notes))
    except PerformanceRnnError as err:
        result.pieces, result.skipped, result.message = [], _skip_reason(str(err)), str(err)
    except Exception as err:  # a parser bug in one file must not end a corpus build
        result.pieces, result.skipped = [], f"error ({type(err).__name__})"
        result.message = f"{source.name}: {type(err).__name__}: {err}"
    return result
