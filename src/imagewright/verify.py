"""Output contract checks: did the API return what the call asked for?

Proxies and models drift from the request: sizes ignored, transparency flattened, a
checkerboard *painted* into an opaque PNG instead of real alpha, another format, fewer images,
edits reshaped to a square (``shared/reference/peers.md``, pain points 9 and 10). Each function
here checks one promise from plain facts and returns a :class:`Check`; :func:`contract_checks`
runs every check that applies to a call's outputs, and :func:`checks_for_call` reads the facts
from a compiled call.

Examples:
    >>> from imagewright.verify import check_count
    >>> check_count(requested=2, returned=1)
    Check(name='count', passed=False, detail='asked for 2 images, got 1', severity='error')
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from .images import sniff_format
from .models import STANDARD_SIZES, image_params, lookup, parse_size

__all__ = [
    "Check",
    "Severity",
    "check_aspect",
    "check_background",
    "check_checkerboard",
    "check_count",
    "check_dimensions",
    "check_format",
    "checks_for_call",
    "contract_checks",
    "find_checkerboard",
]

Severity = Literal["error", "warning", "info"]
"""``error``: the output breaks the request; ``warning``: suspicious; ``info``: a note."""


@dataclass(frozen=True)
class Check:
    """The outcome of one contract check; truthy when it passed.

    Attributes:
        name: What was checked, with the output's index when per image (``"alpha[1]"``).
        passed: Whether the output kept the promise.
        detail: What was found, in one sentence.
        severity: How much a failure matters (see :data:`Severity`).
    """

    name: str
    passed: bool
    detail: str
    severity: Severity = "error"

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for receipts)."""
        return dict(self.__dict__)


def check_count(*, requested: int, returned: int) -> Check:
    """The number of images equals ``n``."""
    ok = requested == returned
    what = f"got {returned}" if not ok else "got them all"
    return Check("count", ok, f"asked for {requested} image{'s' * (requested != 1)}, {what}")


def check_dimensions(
    size: str | None, actual: tuple[int, int], *, name: str = "dimensions"
) -> Check:
    """The output has the requested ``"WxH"`` (anything goes for ``"auto"`` or no size)."""
    w, h = actual
    wanted = parse_size(size) if size else None
    if wanted is None:
        return Check(name, True, f"size {size or 'auto'!s} requested; got {w}x{h}", "info")
    ok = wanted == actual
    return Check(name, ok, f"requested {size}, got {w}x{h}")


def check_format(output_format: str | None, data: bytes, *, name: str = "format") -> Check:
    """The bytes are in the requested format (``png`` when none was asked), sniffed from them."""
    wanted = (output_format or "png").lower()
    head = data[:256].lstrip()
    found = sniff_format(data) or ("svg" if head.startswith((b"<svg", b"<?xml")) else None)
    ok = found == wanted
    return Check(name, ok, f"requested {wanted}, got {found or 'an unrecognised format'}")


def _alpha(image: Image.Image) -> npt.NDArray[np.uint8] | None:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        return np.asarray(image.convert("RGBA"))[..., 3]
    return None


def check_background(background: str | None, image: Image.Image, *, name: str = "alpha") -> Check:
    """Transparency is real when ``background="transparent"``: an alpha channel with some pixels
    below 255. With ``"opaque"``, no pixel may be transparent. Otherwise, a note."""
    alpha = _alpha(image)
    clear = 0.0 if alpha is None else float(np.count_nonzero(alpha < 255)) / alpha.size
    if background == "transparent":
        if alpha is None:
            return Check(
                name,
                False,
                f"transparent background asked, but no alpha channel (mode {image.mode})",
            )
        if clear == 0:
            return Check(name, False, "transparent background asked, but every pixel is opaque")
        return Check(name, True, f"{clear:.1%} of pixels are transparent")
    if background == "opaque" and clear > 0:
        return Check(
            name, False, f"opaque background asked, but {clear:.1%} of pixels are transparent"
        )
    return Check(
        name, True, f"background {background or 'auto'}; {clear:.1%} transparent pixels", "info"
    )


def find_checkerboard(image: Image.Image, *, min_share: float = 0.05) -> tuple[int, float] | None:
    """Find a checkerboard (the usual "transparent" backdrop) painted into the opaque pixels.

    Looks for light, neutral squares of 4..32 px whose neighbours one period away across and
    down differ by 8..110 levels while the diagonal neighbour matches: the signature of the
    grey/white editor checker, not of a chessboard (too much contrast) or ordinary texture.

    Returns:
        ``(cell size in px, share of opaque pixels covered)``, or ``None`` when under
        ``min_share`` of the image looks like a checker.
    """
    alpha = _alpha(image)
    w, h = image.size
    if min(h, w) < 16:
        return None
    step = max(1, int((h * w / 250_000) ** 0.5))  # sample about 250k points: cheap at 4K
    rgb = np.asarray(image.convert("RGB"))[::step, ::step].astype(np.int16)
    usable = (rgb.max(axis=2) - rgb.min(axis=2)) <= 16  # neutral grey
    if alpha is not None:
        usable &= alpha[::step, ::step] == 255
    grey = np.asarray(image.convert("L"), dtype=np.int16)
    periods = range(4, min(33, min(h, w) // 2))
    # A hit needs a light, neutral, flat sample at any period: when too few exist even for the
    # smallest grid (the largest period), no period can reach min_share. Most pictures stop
    # here, which makes the check (and so Result.save) cheap.
    sampled = grey[::step, ::step]
    flat = (
        np.abs(
            sampled[:-1, :-1]
            - grey[1::step, 1::step][: sampled.shape[0] - 1, : sampled.shape[1] - 1]
        )
        <= 4
    )
    candidates = usable[:-1, :-1] & flat & (sampled[:-1, :-1] >= 90)
    p_max = max(periods, default=4)
    smallest = len(range(0, h - p_max, step)) * len(range(0, w - p_max, step))
    if smallest == 0 or np.count_nonzero(candidates) < min_share * smallest:
        return None
    shares: dict[int, float] = {}
    for p in periods:
        a = grey[0 : h - p : step, 0 : w - p : step]
        other = grey[0 : h - p : step, p:w:step]
        across = np.abs(a - other)
        hit = (across >= 8) & (across <= 110) & (np.minimum(a, other) >= 90)
        hit &= np.abs(a - grey[p:h:step, 0 : w - p : step]) >= 8
        hit &= np.abs(a - grey[p:h:step, p:w:step]) <= 4
        hit &= np.abs(a - grey[1 : h - p + 1 : step, 1 : w - p + 1 : step]) <= 4  # flat cells
        hit &= usable[: a.shape[0], : a.shape[1]]
        shares[p] = float(np.count_nonzero(hit)) / hit.size
    top = max(shares.values(), default=0.0)
    if top < min_share:
        return None
    # Odd multiples of the cell match too; the cell is the smallest period that matches well.
    cell = min(p for p, share in shares.items() if share >= 0.95 * top)
    return cell, shares[cell]


def check_checkerboard(
    image: Image.Image, *, transparent_asked: bool = False, name: str = "checkerboard"
) -> Check:
    """No checkerboard backdrop is baked into the pixels (an error when transparency was asked,
    a warning otherwise)."""
    found = find_checkerboard(image)
    if found is None:
        return Check(name, True, "no checkerboard pattern", "info")
    cell, share = found
    return Check(
        name,
        False,
        f"a {cell}px grey/white checkerboard covers {share:.0%} of the opaque pixels",
        "error" if transparent_asked else "warning",
    )


def check_aspect(
    source: tuple[int, int],
    output: tuple[int, int],
    *,
    model: str | None = None,
    name: str = "aspect",
) -> Check:
    """An edit with ``size="auto"`` keeps the source's aspect (within rounding to 16 px), or on
    fixed-size models returns the standard size closest to it."""
    (sw, sh), (ow, oh) = source, output
    spec = lookup(model or "")
    if spec is not None and not spec.sizes.arbitrary:
        options = [parse_size(s) for s in STANDARD_SIZES]
        nearest = min(
            (o for o in options if o), key=lambda o: abs(np.log((o[0] / o[1]) / (sw / sh)))
        )
        ok = (ow, oh) == nearest
        detail = f"source {sw}x{sh}, got {ow}x{oh}; the nearest standard size is {nearest[0]}x{nearest[1]}"
        return Check(name, ok, detail, "warning")
    drift = abs((ow / oh) / (sw / sh) - 1)
    tolerance = max(0.01, 16 / min(ow, oh))
    ok = drift <= tolerance
    return Check(
        name,
        ok,
        f"source {sw}x{sh} (aspect {sw / sh:.3f}), got {ow}x{oh} (aspect {ow / oh:.3f})",
        "warning",
    )


def _decode(data: bytes) -> Image.Image | None:
    try:
        im = Image.open(io.BytesIO(data))
        im.load()  # the pixels are in memory now; no copy needed
        return im
    except Exception:
        return None


def contract_checks(
    outputs: Sequence[bytes],
    *,
    n: int = 1,
    size: str | None = None,
    background: str | None = None,
    output_format: str | None = None,
    source_size: tuple[int, int] | None = None,
    model: str | None = None,
) -> list[Check]:
    """Run every check that applies to a call's outputs; returns them in a stable order.

    Args:
        outputs: The encoded images returned, in order.
        n: How many images were asked for.
        size: The requested size (``"WxH"``, ``"auto"`` or ``None``).
        background: The requested background.
        output_format: The requested format (``None`` = the API's default, png).
        source_size: ``(width, height)`` of the first input image, for edits.
        model: The model, to know whether it can keep an arbitrary aspect.
    """
    checks = [check_count(requested=n, returned=len(outputs))]
    for i, data in enumerate(outputs):
        checks.append(check_format(output_format, data, name=f"format[{i}]"))
        image = _decode(data)
        if image is None:
            detail = "not a raster image Pillow can decode; pixel checks skipped"
            checks.append(Check(f"decode[{i}]", output_format == "svg", detail, "warning"))
            continue
        checks.append(check_dimensions(size, image.size, name=f"dimensions[{i}]"))
        checks.append(check_background(background, image, name=f"alpha[{i}]"))
        checks.append(
            check_checkerboard(
                image, transparent_asked=background == "transparent", name=f"checkerboard[{i}]"
            )
        )
        if source_size is not None and (size in (None, "auto")):
            checks.append(check_aspect(source_size, image.size, model=model, name=f"aspect[{i}]"))
    return checks


class _Call(Protocol):
    @property
    def model(self) -> str | None: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def images(self) -> Sequence[Any]: ...


def checks_for_call(call: _Call, outputs: Sequence[bytes]) -> list[Check]:
    """:func:`contract_checks` with the facts read from a compiled call (an ``ApiCall``)."""
    p = image_params(call.params)
    n = p.get("n", 1)
    first = call.images[0] if call.images else None
    return contract_checks(
        outputs,
        n=n if isinstance(n, int) else 1,
        size=p.get("size"),
        background=p.get("background"),
        output_format=p.get("output_format"),
        source_size=(first.width, first.height) if first is not None else None,
        model=call.model,
    )
