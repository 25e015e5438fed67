"""Pixel diffs that prove what an edit changed: heatmap, metrics inside and outside the mask.

:func:`compute_diff` compares a source with an output and returns a :class:`Diff`. Everything
on it is computed on first access and cached: the per-pixel difference, the SSIM map, the
heatmap, the metrics per region and the :class:`Preservation` verdict on the protected
(non-editable) area. :func:`paste_back` puts the original pixels back outside the editable area
so the protected area is exact again.

Conventions:

* Images are PIL images or ``uint8`` arrays (``HxW``, ``HxWx3`` or ``HxWx4``). They are compared
  as RGB, or as RGBA when either carries alpha (a missing alpha counts as opaque), so a protected
  pixel turned transparent counts as changed.
* When the output size differs from the source (an edit at another size), the source is resized
  to the output's size (Lanczos) before comparing; ``Diff.source_resized`` says so.
* A mask marks the *editable* area: a :class:`~imagewright.masks.Mask` or a 2-D array
  (``True``, any non-zero integer, or a float >= 0.5 = editable, as a soft mask is hardened when
  sent), or a PIL image read with the same rule as an edit's mask: alpha 0 = editable, and an
  image without alpha is refused as ambiguous (read it with
  ``Mask.from_image(image, editable="white")`` to say which colour marks the editable area).
  It is resized (nearest) to the output's size if needed.
* A pixel is *changed* when any channel moved by more than ``threshold`` levels (of 255).
* SSIM is scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255, channel_axis=-1)``, reimplemented with numpy
  (matches to about 1e-8). The overall value is, like scikit-image's, the mean of the SSIM map
  without its 5-pixel border. A region's SSIM compares that region *alone* (the other region's
  pixels are taken from the source in both images, so an edit right next to the mask edge does
  not lower the protected area's score) and is the mean of that map over the region's pixels
  off the border. An untouched protected area therefore scores exactly 1.0.

Examples:
    >>> import numpy as np
    >>> src = np.zeros((64, 64, 3), np.uint8)
    >>> out = src.copy(); out[:16, :16] = 255
    >>> editable = np.zeros((64, 64), bool); editable[:32, :32] = True
    >>> d = compute_diff(src, out, editable)
    >>> d.inside.changed_fraction, d.outside.changed_fraction, bool(d.preservation)
    (0.25, 0.0, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Union

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from . import _diff_pixels as ops
from . import _mask_pixels
from .errors import MaskError, Problem

__all__ = [
    "DEFAULT_THRESHOLD",
    "Diff",
    "ImageLike",
    "LeakedRegion",
    "MaskLike",
    "Preservation",
    "PreservationPolicy",
    "RegionMetrics",
    "compute_diff",
    "paste_back",
    "ssim",
]

ImageLike = Union[Image.Image, "npt.NDArray[np.uint8]"]
"""A PIL image or a ``uint8`` array (``HxW``, ``HxWx3`` or ``HxWx4``)."""
MaskLike = Union["npt.NDArray[Any]", Image.Image, Any]
"""A ``Mask``, an editable-area array (``True`` = editable) or a mask image (see the module doc)."""

U8 = npt.NDArray[np.uint8]
Bool = npt.NDArray[np.bool_]
F32 = npt.NDArray[np.float32]

DEFAULT_THRESHOLD = 8
"""A pixel is *changed* when a channel moved by more than this many levels (of 255): above
rounding and dithering noise, well below anything a person would call an edit."""

# ---------------------------------------------------------------------------------------- SSIM


def ssim(a: ImageLike, b: ImageLike) -> float:
    """The mean structural similarity of two same-size images (1.0 = identical).

    Equal to scikit-image's ``structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255, channel_axis=-1)``.

    Examples:
        >>> import numpy as np
        >>> ssim(np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8))
        1.0
    """
    return compute_diff(a, b).ssim


# -------------------------------------------------------------------------------------- result


@dataclass(frozen=True)
class RegionMetrics:
    """How much one region changed.

    Attributes:
        region: ``"overall"``, ``"inside"`` (the editable area) or ``"outside"`` (protected).
        pixels: How many pixels the region has.
        changed_pixels: How many of them changed (see ``Diff.threshold``).
        changed_fraction: ``changed_pixels / pixels``.
        mae: Mean absolute difference per channel, in levels of 255.
        psnr: Peak signal-to-noise ratio in dB; ``inf`` when the region is identical.
        ssim: Mean SSIM over the region (1.0 = identical).
    """

    region: str
    pixels: int
    changed_pixels: int
    changed_fraction: float
    mae: float
    psnr: float
    ssim: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; an infinite PSNR is written as ``None``."""
        d = dict(self.__dict__)
        d["psnr"] = None if np.isinf(self.psnr) else self.psnr
        return d


@dataclass(frozen=True)
class PreservationPolicy:
    """When the protected area counts as preserved.

    Attributes:
        max_changed_fraction: The largest share of protected pixels allowed to change.
        max_mae: The largest mean absolute difference allowed on protected pixels.
        min_ssim: The smallest SSIM allowed on protected pixels; ``None`` to not check it.
    """

    max_changed_fraction: float = 0.005
    max_mae: float = 1.0
    min_ssim: float | None = None


@dataclass(frozen=True)
class LeakedRegion:
    """A connected area of changed protected pixels.

    Attributes:
        box: ``(left, top, right, bottom)`` in output pixels, right/bottom exclusive (PIL's
            convention), tight around the changed pixels.
        changed_pixels: How many protected pixels changed in it.
    """

    box: tuple[int, int, int, int]
    changed_pixels: int

    @property
    def density(self) -> float:
        """Share of the box's pixels that changed: near 1 for a solid patch, low for a
        scattered leak whose box spans a wide area."""
        x0, y0, x1, y1 = self.box
        return self.changed_pixels / max(1, (x1 - x0) * (y1 - y0))


SCATTERED_DENSITY = 0.25
"""A leak is called scattered when its largest region has fewer changed pixels than this share
of its box (specks spread over an area), or when it falls into many regions."""
SCATTERED_REGIONS = 20


@dataclass(frozen=True)
class Preservation:
    """The verdict on the protected (non-editable) area: did the edit stay in its lane?

    Truthy when it passed. ``regions`` lists where it leaked, largest first (at most 10; see
    ``region_count`` for how many there were).
    """

    passed: bool
    outside: RegionMetrics
    policy: PreservationPolicy
    reasons: tuple[str, ...]
    regions: tuple[LeakedRegion, ...]
    region_count: int

    def __bool__(self) -> bool:
        return self.passed

    @property
    def pattern(self) -> str:
        """``"none"``, ``"local"`` (a few solid patches) or ``"scattered"`` (specks spread out)."""
        if not self.regions:
            return "none"
        largest = self.regions[0]
        if self.region_count >= SCATTERED_REGIONS or largest.density < SCATTERED_DENSITY:
            return "scattered"
        return "local"

    def where(self) -> str:
        """Where the changed protected pixels are, in words: count, share and boxes."""
        if not self.regions:
            return "no protected pixel changed"
        out = self.outside
        largest = self.regions[0]
        share = largest.changed_pixels / max(1, out.changed_pixels)
        head = (
            f"{out.changed_pixels:,} px ({out.changed_fraction:.2%} of the protected area) in "
            f"{self.region_count} region(s)"
        )
        if self.pattern == "scattered":
            return (
                f"{head}, scattered: the largest spans {largest.box} but only "
                f"{largest.density:.0%} of it changed"
            )
        return f"{head}, local: the largest at {largest.box} holds {share:.0%} of them"

    def describe(self) -> str:
        """One line for a terminal: ``preserved: ...`` or ``LEAKED: ...`` with where."""
        o = self.outside
        if self.passed:
            extra = f"; {self.where()}" if self.regions else ""
            return f"preserved: {o.changed_fraction:.2%} outside, SSIM {o.ssim:.3f}{extra}"
        return f"LEAKED: {o.changed_fraction:.2%} outside, SSIM {o.ssim:.3f}; {self.where()}"

    def __str__(self) -> str:
        if self.passed:
            return "preserved: the edit stayed inside the editable area"
        return "leaked: " + "; ".join(self.reasons) + "; " + self.where()


class Diff:
    """The comparison of a source with an output; every attribute is computed once, on demand.

    Build one with :func:`compute_diff`. ``source`` and ``output`` are the ``HxWxC`` uint8 arrays
    actually compared (read-only); ``editable`` the boolean editable area or ``None``.
    """

    def __init__(
        self,
        source: U8,
        output: U8,
        editable: Bool | None,
        *,
        threshold: int,
        policy: PreservationPolicy,
        source_resized: bool,
    ) -> None:
        self.source = _frozen(source)
        self.output = _frozen(output)
        self.editable = None if editable is None else _frozen(editable)
        self.threshold = threshold
        self.policy = policy
        self.source_resized = source_resized

    def __repr__(self) -> str:
        h, w = self.output.shape[:2]
        mask = "with mask" if self.editable is not None else "no mask"
        return f"<Diff {w}x{h} {mask} threshold={self.threshold}>"

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the compared images."""
        return (self.output.shape[1], self.output.shape[0])

    # -- per-pixel differences --------------------------------------------------------------

    @cached_property
    def _per_pixel(self) -> tuple[U8, tuple[float, float], tuple[float, float]]:
        """The per-pixel magnitude, and (sum |d|, sum d²) over all pixels and inside the mask.

        Strips of 64 rows keep temporaries small and in cache; float64 sums of integers stay
        exact, so identical regions give exactly 0.
        """
        a, b, e = self.source, self.output, self.editable
        h, _, c = a.shape
        mag = np.empty(a.shape[:2], np.uint8)
        sums = np.zeros(4, np.float64)
        ones = np.ones(c, np.float64)
        for r0 in range(0, h, 64):
            sa, sb, m = a[r0 : r0 + 64], b[r0 : r0 + 64], mag[r0 : r0 + 64]
            ad = np.maximum(sa, sb)
            ad -= np.minimum(sa, sb)
            np.maximum(ad[..., 0], ad[..., 1], out=m)
            for ch in range(2, c):
                np.maximum(m, ad[..., ch], out=m)
            f = ad.reshape(-1, c).astype(np.float64)
            absum = f @ ones
            f *= f
            sqsum = f @ ones
            sums[0] += absum.sum()
            sums[1] += sqsum.sum()
            if e is not None:
                inside = e[r0 : r0 + 64].reshape(-1).astype(np.float64)
                sums[2] += absum @ inside
                sums[3] += sqsum @ inside
        return mag, (float(sums[0]), float(sums[1])), (float(sums[2]), float(sums[3]))

    @property
    def magnitude(self) -> U8:
        """Per pixel, the largest change over the channels (``HxW``, 0..255)."""
        return self._per_pixel[0]

    @cached_property
    def changed(self) -> Bool:
        """Per pixel, whether it changed by more than ``threshold``."""
        return np.asarray(self.magnitude > self.threshold, dtype=np.bool_)

    @cached_property
    def _ssim_maps(self) -> list[F32]:
        """The plain SSIM map, then (with a mask) the inside-only and outside-only maps."""
        return ops.ssim_maps(self.source, self.output, self.editable)

    @property
    def ssim_map(self) -> F32:
        """The SSIM map averaged over channels (``HxW`` float32, 1.0 = identical)."""
        return self._ssim_maps[0]

    # -- metrics -----------------------------------------------------------------------------

    @cached_property
    def _region_sums(self) -> dict[str, tuple[int, int, float, float]]:
        """Per region: (pixels, changed pixels, sum |d|, sum d²)."""
        _, (tab, tsq), (iab, isq) = self._per_pixel
        total = (self.changed.size, int(np.count_nonzero(self.changed)), tab, tsq)
        if self.editable is None:
            return {"overall": total}
        n_in = int(np.count_nonzero(self.editable))
        c_in = int(np.count_nonzero(self.changed & self.editable))
        return {
            "overall": total,
            "inside": (n_in, c_in, iab, isq),
            "outside": (total[0] - n_in, total[1] - c_in, tab - iab, tsq - isq),
        }

    @cached_property
    def _region_ssim(self) -> dict[str, float]:
        maps = self._ssim_maps
        inner = ops.interior(*maps[0].shape)
        core = maps[0][inner]
        out = {"overall": float(core.mean(dtype=np.float64))}
        if self.editable is None:
            return out
        for name, region, smap in (
            ("inside", self.editable, maps[1]),
            ("outside", ~self.editable, maps[2]),
        ):
            sel = region[inner]
            count = int(np.count_nonzero(sel))
            if count:
                out[name] = float(np.sum(smap[inner], where=sel, dtype=np.float64)) / count
            elif region.any():
                out[name] = float(smap[region].mean(dtype=np.float64))
        return out

    def _metrics(self, name: str) -> RegionMetrics | None:
        sums = self._region_sums.get(name)
        if sums is None or sums[0] == 0:
            return None
        pixels, changed, sab, sq = sums
        values = pixels * self.output.shape[2]
        mse = sq / values
        psnr = float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))
        return RegionMetrics(
            region=name,
            pixels=pixels,
            changed_pixels=changed,
            changed_fraction=changed / pixels,
            mae=sab / values,
            psnr=psnr,
            ssim=self._region_ssim.get(name, 1.0),
        )

    @cached_property
    def overall(self) -> RegionMetrics:
        """Metrics over the whole image."""
        metrics = self._metrics("overall")
        assert metrics is not None
        return metrics

    @cached_property
    def inside(self) -> RegionMetrics | None:
        """Metrics over the editable area; ``None`` without a mask or when nothing is editable."""
        return self._metrics("inside")

    @cached_property
    def outside(self) -> RegionMetrics | None:
        """Metrics over the protected area; ``None`` without a mask or when nothing is protected."""
        return self._metrics("outside")

    @property
    def changed_fraction(self) -> float:
        """The share of all pixels that changed (cheap: no SSIM)."""
        pixels, changed, _, _ = self._region_sums["overall"]
        return changed / pixels

    @property
    def mae(self) -> float:
        """Mean absolute difference per channel over the whole image (cheap: no SSIM)."""
        pixels, _, sab, _ = self._region_sums["overall"]
        return sab / (pixels * int(self.output.shape[2]))

    @property
    def psnr(self) -> float:
        """PSNR over the whole image in dB, ``inf`` when identical (cheap: no SSIM)."""
        pixels, _, _, sq = self._region_sums["overall"]
        mse = sq / (pixels * self.output.shape[2])
        return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))

    @property
    def ssim(self) -> float:
        """Mean SSIM over the whole image, as scikit-image computes it."""
        return self._region_ssim["overall"]

    # -- verdict -----------------------------------------------------------------------------

    @cached_property
    def preservation(self) -> Preservation | None:
        """The verdict on the protected area; ``None`` without a mask or when all is editable."""
        outside = self.outside
        if outside is None:
            return None
        p = self.policy
        reasons = []
        if outside.changed_fraction > p.max_changed_fraction:
            reasons.append(
                f"{outside.changed_fraction:.2%} of protected pixels changed "
                f"(limit {p.max_changed_fraction:.2%})"
            )
        if outside.mae > p.max_mae:
            reasons.append(f"protected MAE {outside.mae:.2f} (limit {p.max_mae:g})")
        if p.min_ssim is not None and outside.ssim < p.min_ssim:
            reasons.append(f"protected SSIM {outside.ssim:.4f} (minimum {p.min_ssim:g})")
        regions = self.leaked_regions() if outside.changed_pixels else []
        return Preservation(
            passed=not reasons,
            outside=outside,
            policy=p,
            reasons=tuple(reasons),
            regions=tuple(regions[:10]),
            region_count=len(regions),
        )

    def leaked_regions(self) -> list[LeakedRegion]:
        """Every connected area of changed protected pixels, largest first.

        Changed pixels closer than a grid cell (4 px, or 1/256 of the longest side on big
        images) are grouped, so noise reads as a few regions rather than thousands of dots.
        """
        if self.editable is None:
            return []
        found = ops.regions(self.changed & ~self.editable)
        return [LeakedRegion(box=box, changed_pixels=n) for box, n in found]

    # -- pictures ----------------------------------------------------------------------------

    @cached_property
    def heatmap(self) -> Image.Image:
        """Where and how much pixels changed: black = unchanged, through purple and orange to
        pale yellow = a full 255-level change (magma colours, square-root scale)."""
        im = Image.fromarray(self.magnitude, mode="L")
        return Image.merge("RGB", [im.point(ops.MAGMA[:, k].tolist()) for k in range(3)])

    @cached_property
    def heatmap_overlay(self) -> Image.Image:
        """The heatmap over a dimmed grey copy of the source, with the editable area outlined.

        Any change in the protected area is drawn at least at the middle of the colour scale,
        fully opaque, and each leaked region is boxed in red, so a faint or small leak stays
        visible even in a thumbnail (the plain :attr:`heatmap` keeps the true scale).
        """
        grey = Image.fromarray(self.source[..., :3], mode="RGB").convert("L").point(ops.DIM)
        magnitude = self.magnitude
        leak = None
        if self.editable is not None:
            leak = self.changed & ~self.editable
            if leak.any():
                magnitude = np.where(leak, np.maximum(magnitude, ops.LEAK_FLOOR), magnitude)
        mag = Image.fromarray(np.ascontiguousarray(magnitude, dtype=np.uint8), mode="L")
        heat = Image.merge("RGB", [mag.point(ops.MAGMA[:, k].tolist()) for k in range(3)])
        out = Image.composite(heat, grey.convert("RGB"), mag.point(ops.ALPHA))
        if self.editable is not None:
            line = Image.fromarray(ops.outline(self.editable).astype(np.uint8) * 255, mode="L")
            out.paste((0, 220, 255), mask=line)
        if leak is not None and leak.any():
            draw = ImageDraw.Draw(out)
            width = max(1, max(self.size) // 256)
            for region in self.leaked_regions()[:10]:
                x0, y0, x1, y1 = region.box
                pad = 2 * width
                draw.rectangle(
                    (x0 - pad, y0 - pad, x1 - 1 + pad, y1 - 1 + pad),
                    outline=(255, 40, 40),
                    width=width,
                )
        return out

    def paste_back(self, feather: float = 0) -> Image.Image:
        """The output with the source's pixels restored outside the editable area.

        See :func:`paste_back`; a diff of the result against the source shows an exact
        protected area.
        """
        if self.editable is None:
            raise MaskError(Problem("mask", None, "paste_back needs a mask", allowed="a mask"))
        return ops.paste(self.source, self.output, self.editable, feather)

    def save(self, directory: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write ``source.png``, ``output.png``, ``editable.png`` (white = editable),
        ``heatmap.png``, ``overlay.png`` and ``diff.json`` (metrics, verdict) atomically.

        A folder holding an earlier result or diff raises ``FileExistsError`` unless
        ``overwrite=True`` (which removes only the files the earlier receipt named)."""
        from ._display import png_bytes
        from ._files import atomic_write, dumps
        from ._folders import earlier_files, refuse_older, remove_stale

        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        if not overwrite:
            refuse_older(folder)
        before = earlier_files(folder)
        mode = "RGBA" if self.source.shape[2] == 4 else "RGB"
        pictures = {
            "source.png": Image.fromarray(self.source, mode=mode),
            "output.png": Image.fromarray(self.output, mode=mode),
            "heatmap.png": self.heatmap,
            "overlay.png": self.heatmap_overlay,
        }
        if self.editable is not None:
            pictures["editable.png"] = Image.fromarray(self.editable.astype("uint8") * 255, "L")
        for name, image in pictures.items():
            atomic_write(folder / name, png_bytes(image))
        body = {"schema": "imagewright.diff/1", "files": sorted(pictures), **self.to_dict()}
        atomic_write(folder / "diff.json", dumps(body))
        remove_stale(folder, before, {"diff.json", *pictures})
        return folder

    def to_dict(self) -> dict[str, Any]:
        """The metrics and verdict as a JSON-ready dict (for receipts)."""
        d: dict[str, Any] = {"threshold": self.threshold, "source_resized": self.source_resized}
        for name in ("overall", "inside", "outside"):
            m = self._metrics(name)
            d[name] = None if m is None else m.to_dict()
        pres = self.preservation
        d["preservation"] = (
            None
            if pres is None
            else {
                "passed": pres.passed,
                "reasons": list(pres.reasons),
                "regions": [
                    {
                        "box": list(r.box),
                        "changed_pixels": r.changed_pixels,
                        "density": round(r.density, 4),
                    }
                    for r in pres.regions
                ],
                "region_count": pres.region_count,
                "pattern": pres.pattern,
                "policy": dict(pres.policy.__dict__),
            }
        )
        return d


def _frozen(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A read-only view: the diff's inputs cannot change under its cache, and the caller's
    own array stays writable."""
    view: npt.NDArray[Any] = arr.view()
    view.flags.writeable = False
    return view


def compute_diff(
    source: ImageLike,
    output: ImageLike,
    mask: MaskLike | None = None,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    policy: PreservationPolicy | None = None,
) -> Diff:
    """Compare ``output`` with ``source`` (optionally split by an editable ``mask``).

    Nothing is computed until an attribute of the returned :class:`Diff` is read.

    Args:
        source: The image before the edit.
        output: The image after it; if its size differs, the source is resized to it.
        mask: The editable area (see the module doc), or ``None`` to compare whole images.
        threshold: A pixel is changed when a channel moved by more than this (0..254).
        policy: When the protected area counts as preserved; the defaults otherwise.

    Raises:
        ImageInputError: An image is not a PIL image or a supported uint8 array.
        MaskError: The mask is not a 2-D array or an image.
        ValueError: ``threshold`` is outside 0..254.
    """
    if not 0 <= threshold <= 254:
        raise ValueError(f"threshold={threshold!r}: must be within 0..254")
    src, out = ops.as_array(source, "source"), ops.as_array(output, "output")
    channels = max(src.shape[2], out.shape[2])
    src, out = ops.with_channels(src, channels), ops.with_channels(out, channels)
    size = (out.shape[1], out.shape[0])
    resized = src.shape[:2] != out.shape[:2]
    if resized:
        src = _mask_pixels.resize(src, size)
    if mask is None:
        editable = None
    else:
        from .masks import editable_pixels

        editable = editable_pixels(mask, size)
    return Diff(
        src,
        out,
        editable,
        threshold=threshold,
        policy=policy or PreservationPolicy(),
        source_resized=resized,
    )


def paste_back(
    source: ImageLike, output: ImageLike, mask: MaskLike, *, feather: float = 0
) -> Image.Image:
    """Composite the source's pixels over ``output`` outside the editable area.

    The feather only softens the seam *inside* the editable area: the blend weight of the
    output is exactly 0 on every protected pixel and ramps up to about 95 % at ``feather``
    pixels inside the editable area, so the protected area is byte-identical to the source
    (resized to the output's size if they differ).

    Args:
        source: The original image.
        output: The edited image; the result has its size and mode (RGB or RGBA).
        mask: The editable area (see the module doc).
        feather: Width in pixels of the soft seam inside the editable area; 0 for a hard edge.

    Examples:
        >>> import numpy as np
        >>> src = np.zeros((32, 32, 3), np.uint8); out = np.full((32, 32, 3), 200, np.uint8)
        >>> editable = np.zeros((32, 32), bool); editable[8:24, 8:24] = True
        >>> np.asarray(paste_back(src, out, editable, feather=3))[0, 0].tolist()
        [0, 0, 0]
    """
    d = compute_diff(source, output, mask)
    return d.paste_back(feather)
