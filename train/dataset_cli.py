"""performance_rnn_create_dataset: MIDI files or the music21 corpus -> training/eval dataset files + manifest."""
from __future__ import annotations

import argparse  # noqa: F401 (Namespace in annotations)
import json
import multiprocessing
import os
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_text
from engine.configs import CONFIGS, get_config
from engine.errors import PerformanceRnnError

from .cli_common import Parser, run
from .dataset_build import BuildSettings, SourceResult, process_source
from .dataset_format import open_split, split_path, write_split
from .sources import resolve_inputs

MANIFEST = "dataset_manifest.json"
SPLITS = ("training", "eval")


def parse_args(argv=None) -> argparse.Namespace:
    p = Parser(prog="performance_rnn_create_dataset", description=__doc__)
    p.add_argument("--config", default="performance", help=f"one of: {', '.join(CONFIGS)}")
    p.add_argument("--input", required=True, help="MIDI file, folder (recursive), glob, or music21:[composer,...]; "
                   "join several with ';'")
    p.add_argument("--output_dir", required=True)
    p.add_argument("--eval_ratio", type=float, default=0.1, help="fraction of pieces held out for eval")
    p.add_argument("--seed", type=int, default=0, help="seeds the train/eval split")
    p.add_argument("--split_by", choices=("file", "folder"), default="file",
                   help="unit of the train/eval split: each file is a piece, or each folder under --input is one "
                   "(performances of one score by several pianists, as in ASAP or MAESTRO-by-piece)")
    p.add_argument("--exclude", default="", help="comma-separated file-name globs to leave out, "
                   "e.g. 'midi_score.mid' (ASAP's score renderings)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--log", default="INFO", help="accepted for compatibility with Magenta")
    return p.parse_args(argv)


def check_output_dir(output_dir: Path, config_name: str) -> bool:
    """Refuse a folder holding another config's dataset; returns True if a same-config dataset is replaced."""
    manifest = output_dir / MANIFEST
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text()).get("config")
        except ValueError:
            raise PerformanceRnnError(f"{manifest} is unreadable; delete it or choose another --output_dir") from None
        if old != config_name:
            raise PerformanceRnnError(f"{output_dir} holds a dataset for config {old!r}, not {config_name!r}; "
                                      "choose another --output_dir or delete that dataset")
        return True
    for split in SPLITS:
        if split_path(output_dir, split).exists():
            raise PerformanceRnnError(f"{output_dir} holds dataset files without a manifest; "
                                      "choose another --output_dir or delete them")
    return False


def run_sources(settings: BuildSettings, sources, workers: int) -> list[SourceResult]:
    from tqdm import tqdm

    work = partial(process_source, settings)
    bar = dict(total=len(sources), unit="file", desc="reading", dynamic_ncols=True)
    if workers <= 1 or len(sources) <= 1:
        return [work(s) for s in tqdm(sources, **bar)]
    # fork keeps the imports; each file is one task so slow scores do not stall a whole chunk
    with multiprocessing.get_context("fork").Pool(min(workers, len(sources))) as pool:
        return list(tqdm(pool.imap(work, sources, chunksize=1), **bar))


def assemble(results: list[SourceResult], split: str) -> tuple[dict, list[dict]]:
    ids, offsets, piece, chunk, stretch, low, high, pieces = [], [0], [], [], [], [], [], []
    for result in results:
        for p in result.pieces:
            if p.split != split or not p.ids:
                continue
            for i, example in enumerate(p.ids):
                ids.append(example)
                offsets.append(offsets[-1] + len(example))
                piece.append(len(pieces))
                chunk.append(p.chunk[i])
                stretch.append(p.stretch[i])
                low.append(p.pitch_range[i][0])
                high.append(p.pitch_range[i][1])
            pieces.append({"source": p.source, "name": p.name, "examples": len(p.ids)})
    arrays = {"ids": np.concatenate(ids) if ids else np.zeros(0, np.int16), "offsets": np.array(offsets),
              "piece": np.array(piece), "chunk": np.array(chunk), "stretch": np.array(stretch),
              "min_pitch": np.array(low), "max_pitch": np.array(high)}
    return arrays, pieces


def split_stats(results, split: str, arrays: dict) -> dict:
    pieces = [p for r in results for p in r.pieces if p.split == split]
    discarded = Counter()
    for p in pieces:
        discarded.update(p.discarded)
    return {"pieces": len(pieces), "examples": len(arrays["offsets"]) - 1, "events": int(arrays["offsets"][-1]),
            "notes": sum(p.num_notes for p in pieces), "hours": sum(p.seconds for p in pieces) / 3600,
            "chunks_discarded": dict(discarded)}


def write_dataset(output_dir: Path, settings: BuildSettings, results, elapsed: float) -> dict:
    manifest = {"config": settings.config_name, "settings": settings.to_dict(), "splits": {}, "files": {},
                "sources": [r.source.name for r in results],
                "skipped": [{"source": r.source.name, "reason": r.skipped, "message": r.message}
                            for r in results if r.skipped]}
    for split in SPLITS:
        arrays, pieces = assemble(results, split)
        training = split == "training"
        info = {"config": settings.config_name, "split": split, "split_by": settings.split_by,
                "stretch_factors": list(settings.stretch_factors) if training else [1.0],
                "transpositions": list(settings.transpositions) if training else [0], "pieces": pieces}
        path = split_path(output_dir, split)
        size = write_split(path, arrays, info)
        manifest["splits"][split] = split_stats(results, split, arrays)
        manifest["files"][split] = {"path": path.name, "bytes": size}
    manifest["build_seconds"] = round(elapsed, 2)
    atomic_write_text(output_dir / MANIFEST, json.dumps(manifest, indent=1))
    return manifest


def print_summary(manifest: dict, output_dir: Path) -> None:
    print(f"{'split':<10}{'pieces':>8}{'examples':>10}{'events':>12}{'notes':>10}{'hours':>8}{'MB':>8}")
    for split, s in manifest["splits"].items():
        mb = manifest["files"][split]["bytes"] / 1e6
        print(f"{split:<10}{s['pieces']:>8}{s['examples']:>10}{s['events']:>12}{s['notes']:>10}"
              f"{s['hours']:>8.2f}{mb:>8.2f}")
    reasons = Counter(item["reason"] for item in manifest["skipped"])
    skipped = ", ".join(f"{n} {reason}" for reason, n in reasons.items()) or "none"
    print(f"files read: {len(manifest['sources'])}; skipped: {skipped}; "
          f"{manifest['build_seconds']:.1f} s; written to {output_dir}")
    for item in manifest["skipped"]:
        print(f"  skipped {item['source']}: {item['message']}", file=sys.stderr)


def build(args: argparse.Namespace) -> dict:
    get_config(args.config)
    if not 0.0 <= args.eval_ratio <= 1.0:
        raise PerformanceRnnError(f"--eval_ratio must be in range 0..1, not {args.eval_ratio!r}")
    output_dir = Path(args.output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise PerformanceRnnError(f"--output_dir {str(output_dir)!r} is a file; give a folder")
    replacing = output_dir.is_dir() and check_output_dir(output_dir, args.config)
    exclude = tuple(p.strip() for p in args.exclude.split(",") if p.strip())
    sources = resolve_inputs(args.input, exclude)
    settings = BuildSettings(args.config, args.eval_ratio, args.seed, args.split_by)
    start = time.perf_counter()
    results = run_sources(settings, sources, max(1, args.workers))
    output_dir.mkdir(parents=True, exist_ok=True)
    if replacing:
        print(f"replacing the {args.config} dataset in {output_dir}", file=sys.stderr)
    manifest = write_dataset(output_dir, settings, results, time.perf_counter() - start)
    for split in SPLITS:
        open_split(split_path(output_dir, split))  # read back: what we wrote must load
    print_summary(manifest, output_dir)
    return manifest


def main(argv=None) -> int:
    """Bad input: one `error: ...` line on stderr and exit status 2 (SystemExit)."""
    args = parse_args(argv)
    run(build, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
