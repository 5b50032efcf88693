"""The command-line flags of the instrument's controls, derived from live.settings.CONTROLS."""
from __future__ import annotations

import argparse

from engine.errors import ConfigError

from .commands import parse_histogram
from .settings import CONTROLS, Control, Settings


def flag_of(c: Control) -> str:
    """--<id>, or the flag Magenta's tools and our older releases used for it."""
    return c.flag or c.id


def _parse(c: Control):
    def parse(text: str):
        try:
            value = float(text)
        except ValueError:
            if not c.choices:
                raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
            value = text  # a named value (a GM program's name)
        try:
            return c.check(value)
        except ConfigError as err:  # argparse names the flag: "argument --x: must be ..."
            raise argparse.ArgumentTypeError(str(err).removeprefix(f"{c.id} ")) from None
    return parse


def _help(c: Control) -> str:
    if c.kind is str or c.kind is bool:
        return c.help
    off = f"; {c.low:g}: {c.off}" if c.off else ""
    return f"{c.help} ({c.range_text()}{off}; default {c.default:g})"


def add_control_arguments(p: argparse.ArgumentParser) -> None:
    for c in CONTROLS.values():
        name = f"--{flag_of(c)}"
        if c.kind is bool:  # a flag switches the control away from its default
            p.add_argument(name, dest=c.id, action="store_false" if c.default else "store_true", help=c.help)
        elif c.kind is str:
            p.add_argument(name, dest=c.id, default=c.default, choices=c.choices, help=c.help)
        else:
            p.add_argument(name, dest=c.id, default=c.default, type=_parse(c), help=_help(c))
    p.add_argument("--pitch_class_histogram", type=_histogram_arg,
                   help='12 relative weights C..B, e.g. "[2,0,1,0,1,1,0,1,0,1,0,1]" (default: uniform)')


def _histogram_arg(text: str) -> tuple:
    try:
        return parse_histogram(text)
    except ConfigError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def settings_from_args(args) -> Settings:
    return Settings(**{name: getattr(args, name) for name in [*CONTROLS, "pitch_class_histogram"]})
