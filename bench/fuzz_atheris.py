"""Coverage-guided fuzzing with atheris (optional: ``pip install atheris``).

Two targets, both fed raw bytes:

- ``image``: ``load_image(data)`` must return an encoded image or raise ``ImageInputError``;
- ``sandbox``: the sandbox's request validator on a JSON or multipart body must answer or
  refuse with a 4xx ``Refusal``, never crash.

Usage::

    python bench/fuzz_atheris.py image -runs=20000
    python bench/fuzz_atheris.py sandbox -runs=20000

atheris prints ``Done N runs in S second(s)`` at the end, or stops at the first crash with the
input that caused it.
"""

from __future__ import annotations

import contextlib
import sys
import warnings

import atheris

with atheris.instrument_imports():
    from imagewright.errors import ImageInputError
    from imagewright.images import load_image
    from imagewright.sandbox._protocol import Refusal
    from imagewright.sandbox._validate import parse_request


def fuzz_image(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(ImageInputError):
            load_image(data)


def fuzz_sandbox(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    endpoint = "edits" if fdp.ConsumeBool() else "generations"
    ctype = "application/json" if fdp.ConsumeBool() else "multipart/form-data; boundary=b"
    try:
        parse_request(endpoint, ctype, fdp.ConsumeBytes(fdp.remaining_bytes()))
    except Refusal as refusal:
        if refusal.status not in (400, 404):
            raise


def main() -> None:
    target = sys.argv.pop(1) if len(sys.argv) > 1 else "image"
    fn = {"image": fuzz_image, "sandbox": fuzz_sandbox}[target]
    atheris.Setup(sys.argv, fn)
    atheris.Fuzz()  # prints "Done N runs", or the crashing input and its traceback


if __name__ == "__main__":
    main()
