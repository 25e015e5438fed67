"""Errors in the command line's own words: ``--compression``, not ``output_compression=``.

The library's errors name its Python parameters; a user at a shell typed flags. This module
translates a :class:`~imagewright.errors.ValidationError` raised under a CLI command so that
every problem names the flag to change.
"""

from __future__ import annotations

import re

from .errors import Problem, ValidationError

__all__ = ["FLAGS", "cli_error"]

FLAGS: dict[str, str] = {
    "model": "--model",
    "size": "--size",
    "quality": "--quality",
    "background": "--background",
    "output_format": "--format",
    "output_compression": "--compression",
    "n": "-n",
    "prompt": "PROMPT",
    "mask": "--mask",
    "editable": "--editable",
    "box": "--box",
    "image": "IMAGE",
}
"""Python parameter -> the CLI flag (or argument) that sets it."""

_ASSIGN = re.compile(r"\b(" + "|".join(sorted(FLAGS, key=len, reverse=True)) + r")=")
_BARE = re.compile(r"\b(output_format|output_compression)\b")


def _words(text: str | None) -> str | None:
    """``output_format='jpeg'`` -> ``--format 'jpeg'`` inside a message."""
    if text is None:
        return None
    text = _ASSIGN.sub(lambda m: FLAGS[m.group(1)] + " ", text)
    return _BARE.sub(lambda m: FLAGS[m.group(1)], text)


def _flag(param: str) -> str:
    base, sep, rest = param.partition("[")
    if base in FLAGS:
        return FLAGS[base] + (sep + rest if sep else "")
    return param


def cli_error(exc: ValidationError) -> ValidationError:
    """The same error with every problem naming CLI flags instead of Python parameters."""
    problems = [
        Problem(_flag(p.param), p.value, _words(p.message) or "", _words(p.allowed), p.model)
        for p in exc.problems
    ]
    if problems == exc.problems:
        return exc
    new = type(exc).__new__(type(exc))
    ValidationError.__init__(new, problems)
    return new
