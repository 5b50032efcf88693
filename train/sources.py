"""The --input spec of create_dataset to a list of sources: MIDI files, a folder, a glob or the music21 corpus."""
from __future__ import annotations

import fnmatch
import glob
import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import PerformanceRnnError

from . import music21_source

MIDI_SUFFIXES = (".mid", ".midi")


@dataclass(frozen=True)
class Source:
    """One file to read: kind is 'midi' or 'music21' (a corpus score file, parsed by music21)."""

    kind: str
    path: str
    folder: str = ""  # the file's folder relative to the --input folder: the piece when splitting by folder

    @property
    def name(self) -> str:
        return f"music21:{self.path}" if self.kind == "music21" else self.path


def _midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MIDI_SUFFIXES)


# ASAP keeps a score's repeat variants in sibling folders ("32-1" and "32-1_no_repeat"): one piece
_VARIANT_SUFFIX = re.compile(r"_(no_)?repeats?$")


def piece_folder(relative: Path) -> str:
    """The folder key of a file found under an --input folder (POSIX, machine-independent)."""
    return _VARIANT_SUFFIX.sub("", relative.parent.as_posix())


def _one_spec(spec: str) -> list[Source]:
    if music21_source.is_music21_spec(spec):
        return [Source("music21", str(p)) for p in music21_source.corpus_paths(spec)]
    path = Path(spec).expanduser()
    if path.is_dir():
        files = _midi_files(path)
        if not files:
            raise PerformanceRnnError(f"no .mid or .midi files under {spec!r}; point --input at a folder of MIDI files")
        return [Source("midi", str(p), piece_folder(p.relative_to(path))) for p in files]
    if path.is_file():
        return [Source("midi", str(path))]
    if glob.has_magic(spec):
        files = sorted(p for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not files:
            raise PerformanceRnnError(f"the pattern {spec!r} matches no files; check the --input glob")
        return [Source("midi", p) for p in files]
    raise PerformanceRnnError(f"input {spec!r} does not exist; give a MIDI file, a folder, a glob or music21:")


def _excluded(source: Source, patterns: tuple[str, ...]) -> bool:
    name = Path(source.path).name
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(source.path, p) for p in patterns)


def resolve_inputs(spec: str, exclude: tuple[str, ...] = ()) -> list[Source]:
    """Several specs may be joined with ';' (e.g. 'midi_dir;music21:bach'); duplicates are read once.
    Files whose name (or path) matches an `exclude` glob are left out, e.g. ASAP's midi_score.mid."""
    specs = [s.strip() for s in spec.split(";") if s.strip()]
    if not specs:
        raise PerformanceRnnError("--input is empty; give a MIDI file, a folder, a glob or music21:")
    sources = []
    for one in specs:
        sources.extend(s for s in _one_spec(one) if not _excluded(s, exclude))
    if not sources:
        raise PerformanceRnnError(f"every file of {spec!r} matches the --exclude patterns {', '.join(exclude)}; loosen them")
    return list(dict.fromkeys(sources))
