"""Small helpers shared by the command-line tools.

- `fail(msg)`: print `error: msg` to stderr and exit 2 (no traceback): the one way a CLI reports bad input.
- `Parser`: argparse with one-line errors through `fail`; `--flag=value` and `--flag value` both work.
- `add_bool(parser, name, help)`: an absl-style bool flag (`--x`, `--x=true`, `--x=False`).
- `literal(flag, text, expected)`: `ast.literal_eval` of a flag value, failing with the flag's name.
- `atomic_write(path)`: a context manager giving a temp path that replaces `path` only on success.
- `run(main_fn)`: call a CLI body, turning engine errors (PerformanceRnnError) into `fail`.
"""
from __future__ import annotations

import argparse
import ast
import errno
import sys
from typing import NoReturn

from engine.atomic import atomic_path
from engine.errors import PerformanceRnnError

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """One line on stderr, exit status 2."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(EXIT_BAD_INPUT)


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one `error: ...` line (argparse prints usage plus two lines).
    Flags must be spelled out, as with Magenta's absl flags (no prefix abbreviations)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        fail(f"{message}; see --help")


def parse_bool(text) -> bool:
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value in ("1", "true", "t", "yes", "y"):
        return True
    if value in ("0", "false", "f", "no", "n"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def add_bool(parser: argparse.ArgumentParser, name: str, help: str, default: bool = False) -> None:
    """`--name` alone means true; `--name=false` works too (absl's bool flags)."""
    parser.add_argument(f"--{name}", nargs="?", const=True, default=default, type=parse_bool, metavar="BOOL",
                        help=help)


def literal(flag: str, text, expected: str):
    """The Python literal in a flag's text (e.g. "[60, 64, 67]"); None for an empty or missing value."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        return ast.literal_eval(text.strip()) if isinstance(text, str) else text
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        fail(f"--{flag} must be {expected}, not {text!r}")


atomic_write = atomic_path  # the engine's one write-then-rename


def run(body, *args, **kwargs):
    """Run a CLI body; engine errors become `error: ...` (exit 2), Ctrl-C exits 130 quietly."""
    try:
        return body(*args, **kwargs)
    except PerformanceRnnError as err:
        fail(str(err))
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        fail(f"the disk is full ({err.filename or 'while writing'}); free some space, then rerun the same command "
             "(training resumes from its last checkpoint)")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
