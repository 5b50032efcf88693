"""Does the model play like the held-out data? Its unconditioned outputs against real performances
(train.style_stats), and the duet check: after real playing as context, is its continuation as likely under
itself as its solo playing (no collapse into babble after real input)?"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.events import STEPS_PER_SECOND
from engine.generation import GenerationOptions, Generator
from engine.performance import Performance
from engine.primers import empty_primer

from .control_fidelity import Request, request_schedule
from .performance_stats import output_stats
from .style_stats import distances, style_stats

CONTEXT_SECONDS = 10.0  # the player's part in the duet check


@dataclass(frozen=True)
class StyleSettings:
    num_outputs: int = 10
    seconds: float = 30.0
    temperature: float = 1.0
    seed: int = 0


def _generate(stepper, primer: Performance, settings: StyleSettings, num_outputs: int, seed: int, progress=None):
    """Unconditioned outputs (conditioning disabled where optional) from a primer, as one batch."""
    num_steps = int(round(settings.seconds * STEPS_PER_SECOND))
    schedule = request_schedule(stepper.config, Request("unconditioned"), num_steps)
    options = GenerationOptions(num_steps=num_steps, temperature=settings.temperature, seed=seed)
    return Generator(stepper, options, schedule, progress).generate(primer, num_outputs)


def _nll_per_event(generated) -> list[float]:
    return [-g.log_likelihood / g.num_events for g in generated if g.num_events]


def _by_piece(data) -> list[list[np.ndarray]]:
    """Examples grouped by piece: by file, or by folder in a dataset split by folder (one score, many pianists)."""
    by_folder = data.info.get("split_by") == "folder"
    names = [(Path(p["source"]).parent.as_posix() if by_folder else p["source"]) + "#" + p.get("name", "")
             for p in data.info.get("pieces", [])]
    groups: dict[str, list] = {}
    for i in range(len(data)):
        index = int(data.arrays["piece"][i])
        groups.setdefault(names[index] if index < len(names) else str(index), []).append(data.example(i))
    return list(groups.values())


def _floor(pieces: list[list[np.ndarray]], bins: int) -> dict[str, float]:
    """Distance between the even and the odd pieces of the reference: two samples of real playing."""
    halves = ([x for p in pieces[0::2] for x in p], [x for p in pieces[1::2] for x in p])
    return distances(*(style_stats(h, bins) for h in halves))


def _context(ids: np.ndarray, bins: int) -> Performance | None:
    """The first CONTEXT_SECONDS of a held-out example (None if it is shorter)."""
    perf = Performance(ids, bins)
    steps = int(CONTEXT_SECONDS * STEPS_PER_SECOND)
    return perf.set_length(steps) if perf.num_steps >= steps else None


def style_section(stepper, data, settings: StyleSettings, progress=None) -> dict:
    bins = stepper.config.num_velocity_bins
    pieces = _by_piece(data)
    reference = [x for p in pieces for x in p]
    num_steps = int(round(settings.seconds * STEPS_PER_SECOND))
    solo = _generate(stepper, empty_primer(bins, num_steps), settings, settings.num_outputs, settings.seed, progress)
    outputs = [np.asarray(g.performance.ids) for g in solo]
    model, real = style_stats(outputs, bins), style_stats(reference, bins)
    cuts = [output_stats(ids, bins, settings.seconds).cut_notes for ids in outputs]
    contexts = [c for c in (_context(p[0], bins) for p in pieces) if c is not None][:settings.num_outputs]
    duet = [g for i, c in enumerate(contexts)
            for g in _generate(stepper, c, settings, 1, settings.seed + 1 + i, progress)]
    return {"num_outputs": settings.num_outputs, "seconds": settings.seconds, "temperature": settings.temperature,
            "reference_examples": len(reference), "reference_pieces": len(pieces),
            "model": model.summary(), "reference": real.summary(),
            "distance": distances(model, real), "floor": _floor(pieces, bins),
            "share_without_cut": float(np.mean([c == 0 for c in cuts])),
            "solo_nll_per_event": _median(_nll_per_event(solo)),
            "duet_nll_per_event": _median(_nll_per_event(duet)), "duet_contexts": len(contexts),
            "context_seconds": CONTEXT_SECONDS}


def _median(values) -> float:
    return float(np.median(values)) if values else float("nan")


def style_table(section: dict) -> str:
    m, r, d, f = section["model"], section["reference"], section["distance"], section["floor"]
    lines = [f"### Own playing against the held-out data ({section['num_outputs']} unconditioned outputs x "
             f"{section['seconds']:g} s, temperature {section['temperature']:g}; reference: "
             f"{section['reference_examples']} examples of {section['reference_pieces']} pieces)", "",
             "| | model | held-out | distance (TV) | floor (held-out vs held-out) |", "|---|---|---|---|---|",
             f"| velocity bins used per output (median) / in all | {m['velocity_bins_used_median']:g} / "
             f"{m['velocity_bins_used_total']} | {r['velocity_bins_used_median']:g} / {r['velocity_bins_used_total']} "
             f"| {d['velocity_tv']:.3f} | {f['velocity_tv']:.3f} |",
             f"| note duration, median bin (s) | {m['duration_p50_s']:.2f} | {r['duration_p50_s']:.2f} | "
             f"{d['duration_tv']:.3f} | {f['duration_tv']:.3f} |",
             f"| inter-onset intervals | | | {d['ioi_tv']:.3f} | {f['ioi_tv']:.3f} |",
             f"| notes/s (median) | {m['notes_per_second_median']:.2f} | {r['notes_per_second_median']:.2f} | | |",
             f"| polyphony at onsets p50 / p95 | {m['polyphony_p50']:g} / {m['polyphony_p95']:g} | "
             f"{r['polyphony_p50']:g} / {r['polyphony_p95']:g} | | |",
             "", f"Outputs with no note cut at 5 s: {100 * section['share_without_cut']:.0f}%. "
             f"Duet check (NLL per generated event under the model): solo {section['solo_nll_per_event']:.2f}, "
             f"after {section['context_seconds']:g} s of held-out playing {section['duet_nll_per_event']:.2f} "
             f"({section['duet_contexts']} contexts)."]
    return "\n".join(lines)
