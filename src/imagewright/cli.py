"""The ``imagewright`` command.

Subcommands: ``demo`` (the main job: a complete directed workflow, offline on the sandbox when
no API key is set), ``generate``, ``edit``, ``estimate``, ``diff`` (each writes a result folder
and prints a short table), ``verify`` (check an image's text with OCR), ``serve`` (run the
sandbox as an HTTP server), ``batch`` (the Batch API: ``submit``, ``status``, ``collect``),
``version``.

Exit codes: 0 success, 1 failed checks, 2 validation errors (nothing was sent),
3 API or connection errors, 4 configuration errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ._batch_cli import add_batch_command
from ._commands import add_commands
from ._verify_cli import add_verify_command
from ._version import __version__
from .errors import (
    APIError,
    BudgetExceededError,
    ConfigurationError,
    ImagewrightError,
    ValidationError,
)

__all__ = ["main"]

EXIT_OK = 0
EXIT_CHECKS_FAILED = 1
EXIT_VALIDATION = 2
EXIT_API = 3
EXIT_CONFIG = 4

Command = Callable[[argparse.Namespace], int]

_EXIT_CODES: tuple[tuple[type[ImagewrightError], int], ...] = (
    (ValidationError, EXIT_VALIDATION),
    (BudgetExceededError, EXIT_VALIDATION),  # refused before sending, like a validation error
    (ConfigurationError, EXIT_CONFIG),
    (APIError, EXIT_API),
    (ImagewrightError, EXIT_API),
)


def _latency(text: str) -> float | tuple[float, float]:
    low, sep, high = text.partition("-")
    return (float(low), float(high)) if sep else float(low)


def _serve(args: argparse.Namespace) -> int:
    from .sandbox import serve

    serve(
        args.host,
        args.port,
        verbose=not args.quiet,
        seed=args.seed,
        latency=args.latency,
        leakage=args.leakage,
        wrong_text=args.wrong_text,
    )
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(out=args.out, quiet=args.quiet)


def _version(args: argparse.Namespace) -> int:
    print(f"imagewright {__version__}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="imagewright",
        description="Directed image generation and editing on OpenAI's GPT Image models.",
    )
    parser.add_argument("--version", action="version", version=f"imagewright {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="run a complete directed workflow (offline sandbox when OPENAI_API_KEY is unset)",
    )
    demo.add_argument("--out", default="imagewright-demo", help="folder for the results")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.set_defaults(func=_demo)

    serve = sub.add_parser("serve", help="run the offline sandbox as an HTTP server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8089, help="port (default 8089)")
    serve.add_argument("--seed", type=int, default=0, help="seed for random behaviour")
    serve.add_argument(
        "--latency", type=_latency, default=0.0, help="seconds before each answer: 0.2 or 0.1-0.3"
    )
    serve.add_argument(
        "--leakage", type=float, default=0.0, help="fraction of protected pixels an edit changes"
    )
    serve.add_argument(
        "--wrong-text", type=float, default=0.0, help="fraction of letters drawn wrong"
    )
    serve.add_argument("--quiet", action="store_true", help="do not log requests")
    serve.set_defaults(func=_serve)

    add_commands(sub)
    add_batch_command(sub)
    add_verify_command(sub)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=_version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return EXIT_OK
    try:
        return func(args)
    except ImagewrightError as exc:
        if isinstance(exc, ValidationError):
            from ._cli_flags import cli_error

            exc = cli_error(exc)
        print(f"error: {exc}", file=sys.stderr)
        return next(code for cls, code in _EXIT_CODES if isinstance(exc, cls))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
