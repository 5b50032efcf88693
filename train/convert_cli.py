"""performance_rnn_convert: a Magenta .mag bundle (or a bundle of ours) -> our safetensors bundle.

    performance_rnn_convert performance_with_dynamics.mag performance_with_dynamics.safetensors

The result loads faster, needs no protobuf or checkpoint parsing, and carries our JSON metadata
(config, layer sizes, where it came from). No TensorFlow is needed.
"""
from __future__ import annotations

import sys
from pathlib import Path

from engine.bundle import STORAGE_DTYPES, load_bundle, save_bundle
from train.cli_common import Parser, fail, run

# Metadata of the source worth keeping; the rest (format, config, hparams) is rewritten by save_bundle.
KEPT_METADATA = ("description", "source_format", "source_file", "magenta_generator_id", "bundle_description")


def build_parser() -> Parser:
    p = Parser(prog="performance_rnn_convert", description="Convert a Magenta .mag bundle to our bundle format.")
    p.add_argument("input", help="a Magenta .mag bundle (or one of our .safetensors bundles)")
    p.add_argument("output", help="the .safetensors bundle to write (written atomically)")
    p.add_argument("--dtype", default="float32", choices=sorted(STORAGE_DTYPES),
                   help="storage precision; float16 halves the file (default float32: exact)")
    p.add_argument("--description", default=None, help="replace the bundle's description")
    return p


def convert(args) -> Path:
    output = Path(args.output)
    if output.suffix != ".safetensors":
        fail(f"output {output} must end in .safetensors (our bundle format); Magenta .mag files cannot be written")
    if output.resolve() == Path(args.input).resolve():
        fail(f"output {output} is the input file; choose another output path")
    loaded = load_bundle(args.input)
    metadata = {k: loaded.metadata[k] for k in KEPT_METADATA if k in loaded.metadata}
    metadata["converted_from"] = Path(args.input).name
    if args.description is not None:
        metadata["description"] = args.description
    try:
        return save_bundle(output, loaded.model, metadata, dtype=args.dtype)
    except OSError as err:
        fail(f"cannot write {output}: {err.strerror}; check the folder exists and is writable")


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    path = convert(args)
    loaded = load_bundle(path)
    params = sum(p.numel() for p in loaded.model.parameters())
    print(f"wrote {path}: config {loaded.config.name}, layers {list(loaded.config.hparams.rnn_layer_sizes)}, "
          f"{params:,} parameters ({args.dtype})")
    return 0


def main(argv=None) -> int:
    return run(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
