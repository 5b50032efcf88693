"""performance_rnn_convert: a Magenta .mag bundle (or a bundle of ours) -> our safetensors bundle.

    performance_rnn_convert performance_with_dynamics.mag performance_with_dynamics.safetensors

The result loads faster, needs no protobuf or checkpoint parsing, and carries our JSON metadata
(config, layer sizes, where it came from). No TensorFlow is needed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.bundle import STORAGE_DTYPES, load_bundle, save_bundle
from engine.errors import PerformanceRnnError

# Metadata of the source worth keeping; the rest (format, config, hparams) is rewritten by save_bundle.
KEPT_METADATA = ("description", "source_format", "source_file", "magenta_generator_id", "bundle_description")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="performance_rnn_convert", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="a Magenta .mag bundle (or one of our .safetensors bundles)")
    p.add_argument("output", help="the .safetensors bundle to write (written atomically)")
    p.add_argument("--dtype", default="float32", choices=sorted(STORAGE_DTYPES),
                   help="storage precision; float16 halves the file (default float32: exact)")
    p.add_argument("--description", default=None, help="replace the bundle's description")
    return p.parse_args(argv)


def convert(args: argparse.Namespace) -> Path:
    output = Path(args.output)
    if output.suffix != ".safetensors":
        raise PerformanceRnnError(f"output {output} must end in .safetensors (our bundle format); "
                                  "Magenta .mag files cannot be written")
    if output.resolve() == Path(args.input).resolve():
        raise PerformanceRnnError(f"output {output} is the input file; choose another output path")
    loaded = load_bundle(args.input)
    metadata = {k: loaded.metadata[k] for k in KEPT_METADATA if k in loaded.metadata}
    metadata["converted_from"] = Path(args.input).name
    if args.description is not None:
        metadata["description"] = args.description
    return save_bundle(output, loaded.model, metadata, dtype=args.dtype)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        path = convert(args)
    except PerformanceRnnError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot write {args.output}: {err.strerror}", file=sys.stderr)
        return 2
    loaded = load_bundle(path)
    params = sum(p.numel() for p in loaded.model.parameters())
    print(f"wrote {path}: config {loaded.config.name}, layers {list(loaded.config.hparams.rnn_layer_sizes)}, "
          f"{params:,} parameters ({args.dtype})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
