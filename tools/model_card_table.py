"""Print MODEL_CARD.md's comparison tables from `performance_rnn_evaluate --json` reports.

usage: python tools/model_card_table.py MODEL:DATA=report.json [...]
e.g.   python tools/model_card_table.py expressive:ASAP=e.asap.json chorales:ASAP=c.asap.json ...
"""
from __future__ import annotations

import json
import sys


def _f(value, digits=2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def likelihood_row(model: str, data: str, report: dict) -> str:
    lk = report["likelihood"]
    m = lk["model"]
    cond = m.get("conditioned") or m.get("model")
    kinds = cond.get("by_kind", {})
    ngram = lk.get("ngram", {}).get("nll")
    rel = lk.get("nll_vs_ngram", {}).get("conditioned")
    cells = [model, data, f"{lk['eval_examples']:,}", _f(cond["nll"], 3), _f(m.get("unconditioned", {}).get("nll"), 3),
             _f(ngram, 3), "–" if rel is None else f"{100 * rel:+.0f}%"]
    cells += [_f(kinds.get(k, {}).get("nll")) for k in ("note_on", "note_off", "time_shift", "velocity")]
    return "| " + " | ".join(cells) + " |"


def style_row(model: str, data: str, report: dict) -> str:
    s = report["style"]
    m, r, d, f = s["model"], s["reference"], s["distance"], s["floor"]
    cells = [model, data, f"{m['velocity_bins_used_median']:g} / {m['velocity_bins_used_total']}",
             f"{r['velocity_bins_used_median']:g} / {r['velocity_bins_used_total']}",
             f"{d['velocity_tv']:.2f} ({f['velocity_tv']:.2f})", f"{d['duration_tv']:.2f} ({f['duration_tv']:.2f})",
             f"{d['ioi_tv']:.2f} ({f['ioi_tv']:.2f})",
             f"{m['notes_per_second_median']:.1f} / {r['notes_per_second_median']:.1f}",
             f"{m['polyphony_p50']:g}, {m['polyphony_p95']:g} / {r['polyphony_p50']:g}, {r['polyphony_p95']:g}",
             f"{100 * s['share_without_cut']:.0f}%",
             f"{s['solo_nll_per_event']:.2f} / {s['duet_nll_per_event']:.2f}"]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str]) -> int:
    runs = []
    for arg in argv:
        label, _, path = arg.partition("=")
        model, _, data = label.partition(":")
        with open(path) as f:
            runs.append((model, data, json.load(f)))
    print("| model | held-out data | examples | NLL conditioned | NLL unconditioned | order-3 n-gram | vs n-gram "
          "| note_on | note_off | time_shift | velocity |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for model, data, report in runs:
        if "likelihood" in report:
            print(likelihood_row(model, data, report))
    print()
    print("| model | held-out data | velocity bins per output / all (model) | (held-out) | velocity TV (floor) "
          "| duration TV (floor) | IOI TV (floor) | notes/s model / held-out | polyphony p50, p95 model / held-out "
          "| outputs without a 5 s cut | NLL/event solo / after real playing |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for model, data, report in runs:
        if "style" in report:
            print(style_row(model, data, report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
