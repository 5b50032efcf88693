"""Markdown tables of performance_rnn_evaluate's likelihood and control-fidelity sections."""
from __future__ import annotations

import math


# ---- tables ----------------------------------------------------------------------------------------------

def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def likelihood_table(section: dict) -> str:
    lines = [f"### Likelihood on the eval split ({section['eval_examples']} examples)", "",
             "| model | NLL (nats/event) | perplexity | accuracy | vs n-gram |", "|---|---|---|---|---|"]
    for name, m in section["model"].items():
        rel = section.get("nll_vs_ngram", {}).get(name)
        rel_text = "–" if rel is None else f"{100 * rel:+.1f}%"
        lines.append(f"| bundle ({name}) | {m['nll']:.4f} | {m['perplexity']:.2f} | {_pct(m['accuracy'])} | "
                     f"{rel_text} |")
    if "ngram" in section:
        g = section["ngram"]
        lines.append(f"| order-{g['order']} KN n-gram | {g['nll']:.4f} | {g['perplexity']:.2f} | "
                     f"{_pct(g['accuracy'])} | baseline |")
    return "\n".join(lines + kind_table(section["model"]))


def kind_table(models: dict) -> list[str]:
    """NLL per kind of the predicted event (share of the labels in brackets)."""
    rows = [(name, m["by_kind"]) for name, m in models.items() if m.get("by_kind")]
    if not rows:
        return []
    kinds = list(rows[0][1])
    lines = ["", "| NLL by event kind | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for name, by_kind in rows:
        lines.append(f"| bundle ({name}) | " + " | ".join(f"{by_kind[k]['nll']:.3f} ({100 * by_kind[k]['share']:.0f}%)"
                                                         for k in kinds) + " |")
    return lines


def fidelity_table(section: dict) -> str:
    lines = [f"### Control fidelity ({section['num_outputs']} outputs x {section['seconds']:g} s per row, "
             f"temperature {section['temperature']:g})", "",
             "| request | steering | notes/s median | notes/s p5..p95 | in classes | outputs without cut note | "
             "polyphony p50 / p95 |", "|---|---|---|---|---|---|---|"]
    for key, label in (("steering_off", "off"), ("steering_on", "on")):
        for name, r in section.get(key, {}).get("requests", {}).items():
            nps = r["notes_per_second"]
            lines.append(f"| {name} | {label} | {r['median_notes_per_second']:.2f} | {nps['p5']:.2f}..{nps['p95']:.2f} "
                         f"| {_pct(r['in_classes_share'])} | {_pct(r['share_without_cut'])} | "
                         f"{r['polyphony']['p50']:g} / {r['polyphony']['p95']:g} |")
    modes = [(k, label) for k, label in (("steering_off", "off"), ("steering_on", "on")) if k in section]
    names = list(dict.fromkeys(t for k, _ in modes for t in section[k]["targets"]))
    if names:
        lines += ["", "| target | " + " | ".join(f"steering {label}" for _, label in modes) + " |",
                  "|---|" + "---|" * len(modes)]
        for t in names:
            cells = [("pass" if section[k]["targets"].get(t) else "FAIL") if t in section[k]["targets"] else "–"
                     for k, _ in modes]
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
