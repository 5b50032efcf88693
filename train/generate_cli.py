"""performance_rnn_generate: Magenta's generate command (same flags, same defaults) plus --seed/--top_k/--top_p.

All outputs are generated as one batch. With neither --bundle_file nor --run_dir the shipped default
model is used. --save_generator_bundle writes a bundle from run_dir's latest checkpoint instead of generating.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from engine.bundle import default_bundle_path, latest_checkpoint, load_bundle, save_bundle
from engine.configs import CONFIGS, get_config
from engine.bundle_info import shipped_models_help
from engine.errors import ConfigError, MidiReadError
from engine.generation import ControlSchedule, GenerationOptions, generate
from engine.primers import build_primer
from engine.steering import SteeredStepper, steering_for
from engine.stepper import PRECISIONS, set_blas_threads
from train.cli_common import Parser, add_bool, fail, literal, run

DEFAULT_CONFIG = "performance"  # Magenta's default; a bundle's own config wins


def build_parser() -> Parser:
    p = Parser(prog="performance_rnn_generate", description="Generate performances from a trained model.")
    a = p.add_argument
    a("--run_dir", help="training run directory; the latest checkpoint in RUN_DIR/train is used")
    a("--bundle_file", help="model bundle (.safetensors, or Magenta .mag), or a shipped model by name: "
      + shipped_models_help() + "; takes the config from the bundle")
    add_bool(p, "save_generator_bundle", "write a bundle of run_dir's latest checkpoint to --bundle_file, "
                                         "instead of generating")
    a("--bundle_description", help="description stored in the bundle written by --save_generator_bundle")
    a("--bundle_license", help="licence of the saved bundle's weights (e.g. 'CC BY-NC-SA 4.0'): a model trained "
                               "on licensed data is adapted material")
    a("--bundle_training_data", help="what the saved bundle was trained on, with attribution")
    a("--config", default=None, help=f"model config (default {DEFAULT_CONFIG}); one of: {', '.join(CONFIGS)}")
    a("--output_dir", default="/tmp/performance_rnn/generated", help="where the MIDI files go")
    add_bool(p, "plot", "also draw each output as a piano roll (.png beside the MIDI file; needs matplotlib)")
    a("--num_outputs", type=int, default=10, help="number of performances (one MIDI file each)")
    a("--num_steps", type=int, default=3000, help="total length in 10 ms steps, primer included (3000 = 30 s)")
    a("--primer_pitches", default="", help='a chord to start with, e.g. "[60, 64, 67]" (0.5 s, velocity 100)')
    a("--primer_melody", default="", help='melody events: -2 hold, -1 off, 0..127 on, e.g. "[60, -2, 60, -2]"')
    a("--primer_midi", default="", help="a MIDI file to start from (sustain pedal not applied)")
    a("--notes_per_second", default=None, help='density control: a number, or a list spread over the output')
    a("--pitch_class_histogram", default=None, help='12 relative weights C..B, or a list of such lists')
    a("--disable_conditioning", default=None, help="True/False or a list (optional-conditioning configs)")
    a("--temperature", type=float, default=1.0, help="softmax temperature (> 0; < 1 is more conservative)")
    a("--top_k", type=int, default=0, help="sample from the k most likely events only (0 = off)")
    a("--top_p", type=float, default=1.0, help="nucleus sampling mass (1 = off)")
    a("--beam_size", type=int, default=1, help="beam search: entries kept per output")
    a("--branch_factor", type=int, default=1, help="beam search: branches per entry")
    a("--steps_per_iteration", type=int, default=1, help="beam search: events sampled between prunings")
    a("--hparams", default="", help="hyperparameter overrides, e.g. 'rnn_layer_sizes=[256,256]'")
    a("--seed", type=int, default=None, help="random seed for reproducible outputs")
    a("--precision", default="int8", choices=PRECISIONS,
      help="inference precision: int8 (default) is ~8x faster for batches and its NLL on held-out MIDI is within "
           "0.003 nats/event of float32 for both shipped models (bench/bench_precision.py); float32 is exact")
    a("--threads", type=int, default=1,
      help="CPU threads for inference (default 1: a batch of 10 gained nothing from a second thread on a quiet "
           "machine and ran 3-15x slower with two on a busy machine; 0 = the library default, all cores)")
    add_bool(p, "steering", "steer sampling toward the requested notes/s and pitch classes and release notes "
                            "before the 5 s cap (engine/steering.py; plain sampling only, not beam search)",
             default=True)
    a("--log", default="INFO", help="logging level (DEBUG, INFO, WARNING, ERROR)")
    return p


def _parse_controls(args):
    nps = literal("notes_per_second", args.notes_per_second, "a number > 0 or a list of them, e.g. 8 or \"[2,8]\"")
    hist = literal("pitch_class_histogram", args.pitch_class_histogram,
                   'a list of 12 non-negative numbers, e.g. "[2,0,1,0,1,1,0,1,0,1,0,1]"')
    off = literal("disable_conditioning", args.disable_conditioning, "True, False or a list of them")
    controls = {"notes_per_second": nps, "pitch_class_histogram": hist, "disable_conditioning": off}
    try:  # check the values now, before a model is loaded
        ControlSchedule(get_config(args.config or DEFAULT_CONFIG), args.num_steps, **controls)
    except ConfigError as err:
        fail(str(err))
    return controls


def _check_flags(args) -> None:
    if args.num_outputs < 1:
        fail(f"--num_outputs must be >= 1, not {args.num_outputs}")
    if args.num_steps < 1:
        fail(f"--num_steps must be >= 1 (10 ms steps), not {args.num_steps}")
    if args.config is not None and args.config not in CONFIGS:
        fail(f"--config {args.config!r} is unknown; choose one of: {', '.join(CONFIGS)}")
    try:
        get_config(args.config or DEFAULT_CONFIG).with_hparams(args.hparams)
    except ConfigError as err:
        fail(f"--hparams: {err}")


def _checkpoint(run_dir: str) -> Path:
    train_dir = Path(run_dir) / "train"
    path = latest_checkpoint(train_dir)
    if path is None:
        fail(f"--run_dir {run_dir} has no checkpoint (model-*.safetensors) in {train_dir}; train first "
             "with performance_rnn_train or pass --bundle_file")
    return path


def _load_model(args):
    """The model from --bundle_file, --run_dir or the shipped default (exactly one source)."""
    if args.bundle_file and args.run_dir:
        fail("give either --bundle_file or --run_dir, not both (--run_dir with --bundle_file only makes "
             "sense with --save_generator_bundle)")
    if args.bundle_file:
        path = Path(args.bundle_file)
    elif args.run_dir:
        path = _checkpoint(args.run_dir)
    else:
        path = default_bundle_path()
        if not path.is_file():
            fail("no model given and no default model installed: pass --bundle_file=PATH (.safetensors or .mag) "
                 "or --run_dir=DIR of a training run, or train one with performance_rnn_train")
    loaded = load_bundle(path, args.config)
    _check_hparams(loaded.config, args.hparams)
    return loaded


def _check_hparams(config, hparams: str) -> None:
    """A model's architecture is fixed; other hparams (batch size, learning rate) do not matter here."""
    wanted = config.with_hparams(hparams).hparams.rnn_layer_sizes
    if wanted != config.hparams.rnn_layer_sizes:
        fail(f"the model has rnn_layer_sizes={list(config.hparams.rnn_layer_sizes)}, but --hparams asks for "
             f"{list(wanted)}; drop it from --hparams")


def save_generator_bundle(args) -> int:
    if not args.run_dir or not args.bundle_file:
        fail("--save_generator_bundle needs both --run_dir (the training run) and --bundle_file (the output)")
    source = _checkpoint(args.run_dir)
    loaded = load_bundle(source, args.config)
    _check_hparams(loaded.config, args.hparams)
    meta = {k: v for k, v in loaded.metadata.items() if k in ("training_steps", "eval_metrics", "description")}
    for key in ("description", "license", "training_data"):
        if getattr(args, f"bundle_{key}") is not None:
            meta[key] = getattr(args, f"bundle_{key}")
    meta["source_checkpoint"] = source.name
    path = save_bundle(args.bundle_file, loaded.model, meta)
    print(f"wrote bundle {path} ({loaded.config.name}, from {source.name})")
    return 0


def _primer(args, config):
    pitches = literal("primer_pitches", args.primer_pitches, 'a list of MIDI pitches, e.g. "[60, 64, 67]"')
    melody = literal("primer_melody", args.primer_melody, 'a list of melody events, e.g. "[60, -2, 62, -1]"')
    try:
        return build_primer(config.num_velocity_bins, args.num_steps, pitches=pitches, melody=melody,
                            midi=args.primer_midi or None)
    except MidiReadError as err:
        fail(f"--primer_midi: {err}")


def output_names(count: int, stamp: str | None = None) -> list[str]:
    """Magenta's names: date_time then a zero-padded index from 01, so they sort."""
    stamp = stamp or time.strftime("%Y-%m-%d_%H%M%S")
    digits = max(2, len(str(count)))
    return [f"{stamp}_{str(i + 1).zfill(digits)}.mid" for i in range(count)]


def generate_files(args, loaded, controls) -> list[Path]:
    config = loaded.config
    try:
        schedule = ControlSchedule(config, args.num_steps, **controls)
        options = GenerationOptions(args.num_steps, args.temperature, args.top_k, args.top_p, args.beam_size,
                                    args.branch_factor, args.steps_per_iteration, args.seed)
    except (ConfigError, ValueError) as err:
        fail(str(err))
    primer = _primer(args, config)
    unused = [k for k, v in controls.items() if v is not None and not _uses(config, k)]
    if unused:
        logging.warning("config %s ignores --%s", config.name, ", --".join(unused))
    stepper = loaded.stepper(args.precision)
    if args.steering and options.beam_size * options.branch_factor == 1:
        stepper = SteeredStepper(stepper, steering_for(config.vocab, **controls))
    with tqdm(total=args.num_steps - primer.num_steps, unit="step", desc="generating", file=sys.stderr,
              disable=None) as bar:
        results = generate(stepper, primer, options, schedule, args.num_outputs, progress=bar)
    out_dir = Path(args.output_dir)
    paths = [out_dir / name for name in output_names(len(results))]
    for result, path in zip(results, paths):
        result.performance.to_midi(path, max_note_duration=5.0)  # written atomically
    return paths


def _uses(config, control: str) -> bool:
    return {"notes_per_second": config.density_conditioning, "pitch_class_histogram": config.pitch_conditioning,
            "disable_conditioning": config.optional_conditioning}[control]


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log).upper(), logging.INFO), format="%(message)s")
    _check_flags(args)
    if args.save_generator_bundle:
        return save_generator_bundle(args)
    controls = _parse_controls(args)
    if args.threads > 0:
        set_blas_threads(args.threads)
        torch.set_num_threads(args.threads)  # the int8 path runs on torch's thread pool
    loaded = _load_model(args)
    started = time.perf_counter()
    paths = generate_files(args, loaded, controls)
    if args.plot:
        from .piano_roll import plot_midi

        for path in paths:
            plot_midi(path)
    logging.info("wrote %d files to %s in %.1f s (%s)", len(paths), os.fspath(args.output_dir),
                 time.perf_counter() - started, loaded.config.name)
    return 0


def main(argv=None) -> int:
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
