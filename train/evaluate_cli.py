"""performance_rnn_evaluate: measure any bundle (ours or a Magenta .mag) on a dataset and on its own outputs.

1. Likelihood: NLL (nats/event) and accuracy on the eval split, scored like Magenta's eval job (first event
   never a target, controls computed from the performance itself; an optional-conditioned model is also
   scored with conditioning disabled). Next to it, an order-3 Kneser-Ney event n-gram (train/ngram.py)
   trained on the training split (with the dataset's transpositions, as the model saw it) and scored on the
   same eval events.
2. Control fidelity: one batch per request (notes/s 1..16, three scales, none), with and without sampling-time
   steering (engine/steering.py): density, share of notes in the requested classes, notes cut by the 5 s cap,
   notes/s and polyphony percentiles.
Prints Markdown tables; --json writes everything (atomically).
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from engine.configs import get_config
from engine.bundle_info import shipped_models_help
from engine.errors import ConfigError, PerformanceRnnError
from engine.stepper import PRECISIONS

from .cli_common import Parser, add_bool, atomic_write, fail, run
from .control_fidelity import DENSITIES, SCALES, FidelitySettings, check_targets, run_fidelity, standard_requests
from .eval_tables import fidelity_table, likelihood_table
from .style_eval import style_table

NGRAM_ORDER = 3


def parse_args(argv=None):
    p = Parser(prog="performance_rnn_evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--bundle_file", help="bundle to measure (.safetensors or .mag), or a shipped model by name "
                   "(default: the first): " + shipped_models_help())
    p.add_argument("--config", help="only to pick a compatible config for a .mag (normally read from the bundle)")
    p.add_argument("--dataset_dir", help="folder with training_/eval_performances.safetensors")
    p.add_argument("--eval_file", help="eval split file (overrides the one in --dataset_dir)")
    p.add_argument("--midi_dir", help="score these MIDI performances instead (a folder, file or glob; chunked like "
                   "the eval split, no augmentation)")
    p.add_argument("--exclude", default="midi_score.mid", help="with --midi_dir: file-name globs to leave out "
                   "(comma-separated; default: ASAP's score renderings)")
    p.add_argument("--train_file", help="training split for the n-gram (overrides the one in --dataset_dir)")
    p.add_argument("--json", help="write all results to this JSON file")
    p.add_argument("--num_outputs", type=int, default=10, help="outputs per control request (one batch)")
    p.add_argument("--seconds", type=float, default=30.0, help="length of each generated output")
    p.add_argument("--densities", default=",".join(f"{d:g}" for d in DENSITIES), help="notes/s requests")
    p.add_argument("--scales", default=",".join(SCALES), help=f"pitch-class requests, from: {', '.join(SCALES)}")
    p.add_argument("--steering", default="both", choices=("off", "on", "both"),
                   help="sampling-time steering for the control fidelity runs")
    p.add_argument("--steering_options", default="", help="steering strengths, e.g. 'pitch_strength=2,"
                   "density_gain=1' (fields of engine.steering.SteeringConfig)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max_eval_examples", type=int, default=0, help="score only the first N eval examples (0: all)")
    p.add_argument("--batch_size", type=int, default=32, help="eval batch size")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--precision", default="int8", choices=PRECISIONS,
                   help="precision of the model's own playing (style, control fidelity): int8 (default, as in "
                        "performance_rnn_generate) or float32; the eval NLL is always float32")
    add_bool(p, "skip_controls", "skip the control fidelity runs")
    add_bool(p, "skip_likelihood", "skip the eval-split NLL (and the n-gram)")
    add_bool(p, "skip_ngram", "skip the n-gram baseline")
    add_bool(p, "skip_style", "skip comparing the model's own outputs with the held-out performances")
    return p.parse_args(argv)


# ---- likelihood ------------------------------------------------------------------------------------------

def _split_files(args) -> tuple[Path | None, Path | None]:
    from .dataset_format import split_path

    eval_file = Path(args.eval_file) if args.eval_file else None
    train_file = Path(args.train_file) if args.train_file else None
    if args.dataset_dir:
        eval_file = eval_file or split_path(args.dataset_dir, "eval")
        train_file = train_file or split_path(args.dataset_dir, "training")
    return eval_file, train_file


def _check_vocabulary(config, data) -> None:
    """Any dataset with the model's event vocabulary will do (controls are recomputed from the events)."""
    built_for = data.info.get("config")
    try:
        bins = get_config(built_for).num_velocity_bins if built_for else None
    except ConfigError:
        bins = None
    if bins is not None and bins != config.num_velocity_bins:
        raise PerformanceRnnError(f"{data.path} holds events with {bins} velocity bins (config {built_for}), the "
                                  f"model uses {config.num_velocity_bins}; build a dataset with --config {config.name}")
    if len(data) and int(np.max(data.arrays["ids"])) >= config.num_classes:
        raise PerformanceRnnError(f"{data.path} has class ids beyond the model's {config.num_classes} classes; "
                                  f"build a dataset with --config {config.name}")


def model_likelihood(loaded, data, batch_size: int, max_examples: int, progress) -> dict:
    """Magenta's eval metrics per conditioning flag ('conditioned', 'unconditioned'), token-weighted."""
    import torch

    from .batches import example_table, make_batch
    from .metrics import MetricSums, kind_loss_sums, metric_sums

    config = loaded.config
    table = example_table(config, data)
    keep = np.flatnonzero(table.example < max_examples) if max_examples else np.arange(len(table))
    sums = {False: MetricSums(), True: MetricSums()}
    kinds = {False: 0.0, True: 0.0}
    progress.total = len(keep)
    with torch.no_grad():
        for start in range(0, len(keep), batch_size):
            rows = keep[start:start + batch_size]
            batch = make_batch(config, data, table, rows)
            logits, _ = loaded.model(batch.inputs, batch.controls)
            for flag in (False, True):
                mine = table.disabled[rows] == flag
                if mine.any():
                    sums[flag] = sums[flag] + metric_sums(config, logits[mine], batch.labels[mine])
                    kinds[flag] = kinds[flag] + kind_loss_sums(config, logits[mine], batch.labels[mine])
            progress.update(len(rows))
    out = {"conditioned" if config.conditioned else "model": _metric_values(sums[False], kinds[False])}
    if config.optional_conditioning:
        out["unconditioned"] = _metric_values(sums[True], kinds[True])
    return out


def _metric_values(sums, kinds) -> dict:
    from .metrics import kind_nll

    values = sums.values()
    return {"nll": values["loss"], "perplexity": values["perplexity"], "accuracy": values["accuracy"],
            "event_accuracy": values["event_accuracy"], "no_event_accuracy": values["no_event_accuracy"],
            "tokens": sums.tokens, "by_kind": kind_nll(kinds) if sums.tokens else {}}


def _eval_sequences(data, max_examples: int) -> list[np.ndarray]:
    count = min(len(data), max_examples) if max_examples else len(data)
    return [data.example(i) for i in range(count)]


def ngram_likelihood(config, train_data, eval_data, max_examples: int, progress) -> dict:
    """Fit the n-gram on every training example (and transposition), score the eval examples."""
    from .batches import example_table, transpose_ids
    from .ngram import NGramModel

    table = example_table(dataclasses.replace(config, optional_conditioning=False), train_data)
    started = time.perf_counter()
    sequences = (transpose_ids(config, train_data.example(int(e)), int(t))
                 for e, t in zip(table.example, table.transpose))
    model = NGramModel.fit(sequences, config.num_classes, NGRAM_ORDER)
    fit_seconds = time.perf_counter() - started
    total, tokens, correct = 0.0, 0, 0
    for ids in _eval_sequences(eval_data, max_examples):
        if len(ids) < 2:
            continue
        total -= float(model.log_probs(ids).sum())
        correct += int((model.predictions(ids) == ids[1:]).sum())
        tokens += len(ids) - 1
        progress.update(1)
    nll = total / max(tokens, 1)
    return {"order": NGRAM_ORDER, "smoothing": "interpolated Kneser-Ney", "nll": nll,
            "perplexity": math.exp(min(nll, 700)), "accuracy": correct / max(tokens, 1), "tokens": tokens,
            "training_sequences": len(table), "discounts": [lv.discount for lv in model.levels],
            "fit_seconds": round(fit_seconds, 2)}


def load_eval_data(loaded, args):
    """The held-out data: --midi_dir performances, else the eval split file; None if neither was given."""
    from .dataset_format import open_split
    from .heldout import midi_eval_split

    if args.midi_dir:
        exclude = tuple(p.strip() for p in args.exclude.split(",") if p.strip())
        return midi_eval_split(args.midi_dir, loaded.config.name, exclude)
    eval_file, _ = _split_files(args)
    if eval_file is None:
        return None
    eval_data = open_split(eval_file)
    _check_vocabulary(loaded.config, eval_data)
    return eval_data


def likelihood_section(loaded, args, eval_data, bar) -> dict:
    from .dataset_format import open_split

    _, train_file = _split_files(args)
    if eval_data is None:
        raise PerformanceRnnError("the likelihood needs --dataset_dir, --eval_file or --midi_dir "
                                  "(or pass --skip_likelihood)")
    eval_file = eval_data.path
    if not len(eval_data):
        raise PerformanceRnnError(f"{eval_file} has no examples; build the dataset with a larger --eval_ratio")
    out = {"eval_file": str(eval_file), "eval_examples": len(_eval_sequences(eval_data, args.max_eval_examples))}
    with bar(total=None, desc="eval NLL", unit="ex") as progress:
        out["model"] = model_likelihood(loaded, eval_data, args.batch_size, args.max_eval_examples, progress)
    if not args.skip_ngram:
        if train_file is None:
            raise PerformanceRnnError("the n-gram baseline needs --dataset_dir or --train_file "
                                      "(or pass --skip_ngram)")
        train_data = open_split(train_file)
        _check_vocabulary(loaded.config, train_data)
        with bar(total=out["eval_examples"], desc="n-gram", unit="ex") as progress:
            out["ngram"] = ngram_likelihood(loaded.config, train_data, eval_data, args.max_eval_examples, progress)
        out["train_file"] = str(train_file)
        out["nll_vs_ngram"] = {name: m["nll"] / out["ngram"]["nll"] - 1.0 for name, m in out["model"].items()}
    return out


# ---- control fidelity ------------------------------------------------------------------------------------

def steering_config(text: str):
    from engine.steering import SteeringConfig

    fields = {f.name for f in dataclasses.fields(SteeringConfig)}
    changes = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in fields:
            raise ConfigError(f"unknown steering option {key!r} in --steering_options; "
                              f"known: {', '.join(sorted(fields))}")
        try:
            changes[key] = float(raw)
        except ValueError:
            raise ConfigError(f"steering option {key} must be a number, not {raw.strip()!r}") from None
    try:
        return SteeringConfig(**changes)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def _floats(flag: str, text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        fail(f"--{flag} must be numbers separated by commas, like 1,2,4, not {text!r}")
    if any(not math.isfinite(v) or v <= 0 for v in values):
        fail(f"--{flag} values must be > 0, not {text!r}")
    return values


def fidelity_section(loaded, args, bar) -> dict:
    densities = _floats("densities", args.densities)
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = [s for s in scales if s not in SCALES]
    if unknown:
        fail(f"unknown scale {unknown[0]!r} in --scales; known: {', '.join(SCALES)}")
    settings = FidelitySettings(num_outputs=args.num_outputs, seconds=args.seconds, temperature=args.temperature,
                                seed=args.seed, requests=standard_requests(densities, scales))
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.steering]
    steer = steering_config(args.steering_options)
    stepper = loaded.stepper(args.precision)
    out = {"num_outputs": args.num_outputs, "seconds": args.seconds, "temperature": args.temperature,
           "steering_config": dataclasses.asdict(steer)}
    steps = int(round(args.seconds * 100)) * len(settings.requests) * len(modes)
    with bar(total=steps, desc="control fidelity", unit="step") as progress:
        for on in modes:
            results = run_fidelity(stepper, settings, steer if on else None, progress)
            out["steering_on" if on else "steering_off"] = {"requests": results, "targets": check_targets(results)}
    return out


def style_section(loaded, args, eval_data, bar) -> dict:
    from .style_eval import StyleSettings, style_section as measure

    settings = StyleSettings(args.num_outputs, args.seconds, args.temperature, args.seed)
    steps = int(round(args.seconds * 100)) * (1 + min(args.num_outputs, len(eval_data)))
    with bar(total=steps, desc="own playing", unit="step") as progress:
        return measure(loaded.stepper(args.precision), eval_data, settings, progress)


# ---- main ------------------------------------------------------------------------------------------------

def _progress_bar():
    from tqdm import tqdm

    return lambda **kw: tqdm(file=sys.stderr, leave=False, dynamic_ncols=True, **kw)


def _plain(value):
    """JSON-safe copy: NaN (no notes, no tokens) becomes null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def evaluate(args) -> dict:
    import torch

    from engine.bundle import default_bundle_path, load_bundle

    if args.num_outputs < 1 or args.seconds <= 0 or args.batch_size < 1 or args.max_eval_examples < 0:
        fail("--num_outputs and --batch_size must be >= 1, --seconds > 0 and --max_eval_examples >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    path = Path(args.bundle_file) if args.bundle_file else default_bundle_path()
    loaded = load_bundle(path, args.config)
    bar = _progress_bar()
    report = {"bundle": str(path), "config": loaded.config.name,
              "layers": list(loaded.config.hparams.rnn_layer_sizes), "seed": args.seed,
              "precision": args.precision}
    tables = [f"## Evaluation of {path.name} ({loaded.config.name}, layers {report['layers']})"]
    eval_data = load_eval_data(loaded, args)
    if not args.skip_likelihood:
        report["likelihood"] = likelihood_section(loaded, args, eval_data, bar)
        tables.append(likelihood_table(report["likelihood"]))
    if not args.skip_style and eval_data is not None:
        report["style"] = style_section(loaded, args, eval_data, bar)
        tables.append(style_table(report["style"]))
    if not args.skip_controls:
        report["control_fidelity"] = fidelity_section(loaded, args, bar)
        tables.append(fidelity_table(report["control_fidelity"]))
    print("\n\n".join(tables))
    if args.json:
        with atomic_write(args.json) as tmp:
            tmp.write_text(json.dumps(_plain(report), indent=2, allow_nan=False))
    return report


def main(argv=None) -> int:
    args = parse_args(argv)
    run(evaluate, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
