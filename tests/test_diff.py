"""Tests for imagewright.diff: metrics with known answers, SSIM, preservation, paste-back."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from imagewright import Client
from imagewright._diff_pixels import label as _label
from imagewright.diff import (
    DEFAULT_THRESHOLD,
    PreservationPolicy,
    compute_diff,
    paste_back,
    ssim,
)
from imagewright.edit import EditRequest
from imagewright.errors import ImageInputError, MaskError
from imagewright.masks import Mask

C1 = (0.01 * 255) ** 2
C2 = (0.03 * 255) ** 2


def textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * 3) % 256, (y * 5) % 256, (x + y) % 256], -1).astype(np.int16)
    return np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)


def reference_ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The textbook formula in float64 with a direct 11x11 Gaussian (scipy 'reflect' edges)."""
    x = np.arange(-5, 6)
    g = np.exp(-0.5 * (x / 1.5) ** 2)
    g /= g.sum()
    kernel = np.outer(g, g)

    def blur(img: np.ndarray) -> np.ndarray:
        p = np.pad(img, 5, mode="symmetric")
        out = np.zeros_like(img)
        for i in range(11):
            for j in range(11):
                out += kernel[i, j] * p[i : i + img.shape[0], j : j + img.shape[1]]
        return out

    maps = []
    for c in range(a.shape[2]):
        fa, fb = a[..., c].astype(np.float64), b[..., c].astype(np.float64)
        ma, mb = blur(fa), blur(fb)
        va, vb, vab = blur(fa * fa) - ma**2, blur(fb * fb) - mb**2, blur(fa * fb) - ma * mb
        maps.append(((2 * ma * mb + C1) * (2 * vab + C2)) / ((ma**2 + mb**2 + C1) * (va + vb + C2)))
    return np.mean(maps, axis=0)


# ------------------------------------------------------------------------------ known answers


def test_identical_images_have_no_change_and_perfect_scores():
    img = textured(40, 56)
    d = compute_diff(img, img.copy())
    assert d.changed_fraction == 0.0
    assert d.mae == 0.0
    assert math.isinf(d.psnr)
    assert d.ssim == pytest.approx(1.0, abs=1e-6)
    assert d.inside is None
    assert d.outside is None
    assert d.preservation is None


def test_block_change_gives_exact_fractions_inside_and_outside():
    src = np.zeros((64, 64, 3), np.uint8)
    out = src.copy()
    out[:16, :16] = 255
    editable = np.zeros((64, 64), bool)
    editable[:32, :32] = True
    d = compute_diff(src, out, editable)
    assert d.inside is not None
    assert d.outside is not None
    assert d.inside.pixels == 1024
    assert d.outside.pixels == 4096 - 1024
    assert d.inside.changed_pixels == 256
    assert d.inside.changed_fraction == 0.25
    assert d.outside.changed_fraction == 0.0
    assert d.changed_fraction == 256 / 4096
    assert d.inside.mae == pytest.approx(255 * 0.25)
    assert d.inside.psnr == pytest.approx(10 * math.log10(4))
    assert math.isinf(d.outside.psnr)
    assert d.preservation is not None
    assert d.preservation.passed


def test_threshold_decides_what_counts_as_changed():
    src = np.full((8, 8, 3), 100, np.uint8)
    out = src.copy()
    out[0, 0, 1] = 100 + DEFAULT_THRESHOLD  # exactly at the threshold: unchanged
    out[1, 1, 2] = 100 + DEFAULT_THRESHOLD + 1
    d = compute_diff(src, out)
    assert d.overall.changed_pixels == 1
    assert compute_diff(src, out, threshold=0).overall.changed_pixels == 2


def test_ssim_of_constant_images_matches_the_closed_form():
    # With no variance anywhere, SSIM reduces to the luminance term (2ab+C1)/(a²+b²+C1).
    a = np.full((32, 48, 3), 100, np.uint8)
    b = np.full((32, 48, 3), 110, np.uint8)
    expected = (2 * 100 * 110 + C1) / (100**2 + 110**2 + C1)
    assert ssim(a, b) == pytest.approx(expected, abs=1e-6)


def test_ssim_averages_channels():
    a = np.zeros((24, 24, 3), np.uint8)
    a[...] = (50, 100, 200)
    b = a.copy()
    b[..., 0] = 80  # only the red channel differs
    red = (2 * 50 * 80 + C1) / (50**2 + 80**2 + C1)
    assert ssim(a, b) == pytest.approx((red + 2) / 3, abs=1e-6)


@settings(max_examples=15, deadline=None)
@given(
    h=st.integers(11, 45),
    w=st.integers(11, 70),
    seed=st.integers(0, 2**16),
)
def test_ssim_map_matches_the_float64_textbook_formula(h, w, seed):
    # Odd sizes exercise the strip and block edges of the fast filter.
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-60, 61, a.shape), 0, 255).astype(np.uint8)
    d = compute_diff(a, b)
    ref = reference_ssim_map(a, b)
    assert np.abs(d.ssim_map - ref).max() < 1e-5
    assert d.ssim == pytest.approx(ref[5:-5, 5:-5].mean(), abs=1e-6)


@settings(max_examples=20, deadline=None)
@given(
    a=arrays(np.uint8, (16, 20, 3)),
    b=arrays(np.uint8, (16, 20, 3)),
)
def test_metrics_are_symmetric_and_bounded(a, b):
    d1, d2 = compute_diff(a, b), compute_diff(b, a)
    assert d1.changed_fraction == d2.changed_fraction
    assert d1.mae == d2.mae
    assert d1.ssim == pytest.approx(d2.ssim, abs=1e-5)
    assert -1 - 1e-6 <= d1.ssim <= 1 + 1e-6
    assert 0 <= d1.mae <= 255


def test_region_ssim_compares_each_region_alone():
    src = textured(48, 48)
    out = src.copy()
    out[10:30, 10:30] = 255 - out[10:30, 10:30]
    editable = np.zeros((48, 48), bool)
    editable[8:32, 8:32] = True
    d = compute_diff(src, out, editable)
    assert d.inside is not None
    assert d.outside is not None
    # Protected pixels next to the edit are untouched, so the outside scores exactly 1 even
    # though their SSIM windows reach into the edited area.
    assert d.outside.ssim == 1.0
    assert d.ssim_map[~editable].min() < 0.95
    # Inside: the mean of the map of the edit alone, over the editable pixels off the border.
    core, sel = d.ssim_map[5:-5, 5:-5], editable[5:-5, 5:-5]
    assert d.inside.ssim == pytest.approx(core[sel].mean(), abs=1e-6)
    leak_only = src.copy()
    leak_only[40:46, 40:46] = 0
    d2 = compute_diff(src, leak_only, editable)
    assert d2.inside is not None
    assert d2.outside is not None
    assert d2.inside.ssim == 1.0
    assert d2.outside.ssim < 1.0


# ------------------------------------------------------------------------------ inputs


def test_output_of_another_size_is_compared_against_the_resized_source():
    src = np.full((50, 40, 3), 90, np.uint8)
    out = np.full((100, 80, 3), 90, np.uint8)
    d = compute_diff(src, out)
    assert d.source_resized
    assert d.size == (80, 100)
    assert d.changed_fraction == 0.0


def test_api_mask_image_and_boolean_array_mean_the_same_area():
    src, out = textured(32, 32), textured(32, 32, seed=1)
    editable = np.zeros((32, 32), bool)
    editable[4:20, 6:30] = True
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 3] = np.where(editable, 0, 255)  # the API's rule: alpha 0 = editable
    white = Image.fromarray(editable.astype(np.uint8) * 255, mode="L")
    soft = Mask(editable).feather(2)
    assert soft.is_soft
    masks = (
        Image.fromarray(rgba, mode="RGBA"),
        Mask.from_image(white, editable="white"),
        editable.astype(np.uint8),
        Mask(editable),
    )
    assert np.array_equal(compute_diff(src, out, soft).editable, np.asarray(soft) >= 0.5)
    for mask in masks:
        assert np.array_equal(compute_diff(src, out, mask).editable, editable)


def test_a_mask_image_without_alpha_is_refused_as_in_an_edit():
    """One rule for which pixels are editable: the diff reads a mask image like an edit does."""
    from imagewright.errors import MaskError

    white = Image.fromarray(np.full((32, 32), 255, np.uint8), mode="L")
    with pytest.raises(MaskError, match="no alpha channel") as info:
        compute_diff(textured(32, 32), textured(32, 32), white)
    assert info.value.problems[0].value == "a PIL image in mode L"


def test_mask_is_resized_to_the_output():
    src = np.zeros((64, 64, 3), np.uint8)
    out = src.copy()
    editable = np.zeros((32, 32), bool)
    editable[:16] = True
    d = compute_diff(src, out, editable)
    assert d.editable is not None
    assert d.editable.shape == (64, 64)
    assert d.editable[:32].all()
    assert not d.editable[32:].any()


def test_protected_pixels_turned_transparent_count_as_changed():
    src = np.full((16, 16, 3), 120, np.uint8)
    out = np.dstack([src, np.full((16, 16), 255, np.uint8)])
    out[:4, :, 3] = 0
    d = compute_diff(src, out)
    assert d.source.shape[2] == 4
    assert d.overall.changed_pixels == 4 * 16


def test_bad_inputs_raise_typed_errors():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ImageInputError, match="source"):
        compute_diff(img.astype(np.float64), img)  # type: ignore[arg-type]
    with pytest.raises(ImageInputError, match="shape"):
        compute_diff(img, np.zeros((8, 8, 2), np.uint8))
    with pytest.raises(MaskError, match="mask"):
        compute_diff(img, img, np.zeros((8, 8, 3), bool))
    with pytest.raises(ValueError, match="threshold"):
        compute_diff(img, img, threshold=300)


# ------------------------------------------------------------------------------ preservation


def leaky_edit() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src = textured(128, 160)
    out = src.copy()
    editable = np.zeros((128, 160), bool)
    editable[32:96, 40:120] = True
    out[editable] = 255 - out[editable]
    out[100:120, 5:35] = 0  # big leak
    out[4:9, 140:146] = 255  # small leak
    return src, out, editable


def test_leaks_fail_preservation_and_are_named_largest_first():
    src, out, editable = leaky_edit()
    pres = compute_diff(src, out, editable).preservation
    assert pres is not None
    assert not pres.passed
    assert not pres
    assert any("protected pixels changed" in r for r in pres.reasons)
    assert pres.region_count == 2
    assert [r.box for r in pres.regions] == [(5, 100, 35, 120), (140, 4, 146, 9)]
    assert pres.regions[0].changed_pixels <= 20 * 30
    assert "largest at (5, 100, 35, 120)" in str(pres)


def test_a_uniform_shift_of_the_protected_area_fails_on_mae_alone():
    src = textured(64, 80).astype(np.int16)
    editable = np.zeros((64, 80), bool)
    editable[16:48, 20:60] = True
    # Every protected pixel moves by +8 levels: at the threshold, so none counts as changed,
    # but the whole area is visibly brighter.
    out = np.clip(src + 8, 0, 255).astype(np.uint8)
    pres = compute_diff(src.astype(np.uint8), out, editable).preservation
    assert pres is not None
    assert pres.outside.changed_pixels == 0
    assert not pres.passed
    assert [r for r in pres.reasons if "MAE" in r]


def test_policy_is_configurable():
    src, out, editable = leaky_edit()
    lenient = PreservationPolicy(max_changed_fraction=0.5, max_mae=100)
    assert compute_diff(src, out, editable, policy=lenient).preservation
    strict = PreservationPolicy(max_changed_fraction=0.5, max_mae=100, min_ssim=0.999)
    pres = compute_diff(src, out, editable, policy=strict).preservation
    assert pres is not None
    assert not pres.passed
    assert "SSIM" in pres.reasons[0]


def test_nearby_specks_are_grouped_into_one_region():
    src = np.zeros((64, 64, 3), np.uint8)
    out = src.copy()
    out[40, 40] = out[41, 43] = out[50, 50] = 200  # 40/41 share a 4 px cell neighbourhood
    d = compute_diff(src, out, np.zeros((64, 64), bool))
    boxes = [r.box for r in d.leaked_regions()]
    assert boxes == [(40, 40, 44, 42), (50, 50, 51, 51)]


def brute_force_components(grid: np.ndarray) -> set[frozenset[tuple[int, int]]]:
    seen: set[tuple[int, int]] = set()
    comps = set()
    for start in zip(*np.nonzero(grid), strict=True):
        s = (int(start[0]), int(start[1]))
        if s in seen:
            continue
        stack, comp = [s], set()
        seen.add(s)
        while stack:
            r, c = stack.pop()
            comp.add((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    n = (r + dr, c + dc)
                    if (
                        0 <= n[0] < grid.shape[0]
                        and 0 <= n[1] < grid.shape[1]
                        and grid[n]
                        and n not in seen
                    ):
                        seen.add(n)
                        stack.append(n)
        comps.add(frozenset(comp))
    return comps


@settings(max_examples=60, deadline=None)
@given(grid=arrays(np.bool_, st.tuples(st.integers(1, 12), st.integers(1, 12))))
def test_labelling_finds_the_8_connected_components(grid):
    labels = _label(grid)
    found: dict[int, set[tuple[int, int]]] = {}
    for r, c in zip(*np.nonzero(labels >= 0), strict=True):
        found.setdefault(int(labels[r, c]), set()).add((int(r), int(c)))
    assert {frozenset(v) for v in found.values()} == brute_force_components(grid)
    assert ((labels >= 0) == grid).all()


# ------------------------------------------------------------------------------ paste-back


@settings(max_examples=25, deadline=None)
@given(
    feather=st.sampled_from([0, 1, 2.5, 6, 15]),
    box=st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(1, 34), st.integers(1, 34)),
)
def test_paste_back_keeps_protected_pixels_byte_exact(feather, box):
    src, out = textured(40, 40), textured(40, 40, seed=7)
    editable = np.zeros((40, 40), bool)
    x0, y0, w, h = box
    editable[y0 : y0 + h, x0 : x0 + w] = True
    pasted = np.asarray(paste_back(src, out, editable, feather=feather))
    assert np.array_equal(pasted[~editable], src[~editable])
    d = compute_diff(src, pasted, editable)
    if d.outside is not None:
        assert d.outside.changed_pixels == 0
        assert d.outside.mae == 0
        assert math.isinf(d.outside.psnr)


def test_paste_back_restores_a_leaky_edit_and_feathers_only_inside():
    src, out, editable = leaky_edit()
    before = compute_diff(src, out, editable)
    assert before.preservation is not None
    assert not before.preservation.passed
    pasted = np.asarray(before.paste_back(feather=8))
    after = compute_diff(src, pasted, editable)
    assert after.preservation is not None
    assert after.preservation.passed
    assert after.outside is not None
    assert after.outside.ssim == pytest.approx(1.0, abs=1e-6)
    # Deep inside the editable area the model's pixels are kept; at the seam they blend.
    assert np.array_equal(pasted[64, 80], out[64, 80])
    seam = pasted[32, 80].astype(int)
    assert not np.array_equal(seam, out[32, 80])
    assert not np.array_equal(seam, src[32, 80])


def test_hard_paste_back_is_a_plain_composite():
    src, out, editable = leaky_edit()
    pasted = np.asarray(paste_back(Image.fromarray(src), Image.fromarray(out), editable))
    assert np.array_equal(pasted, np.where(editable[..., None], out, src))


def test_paste_back_needs_a_mask_and_a_non_negative_feather():
    img = textured(16, 16)
    with pytest.raises(MaskError):
        compute_diff(img, img).paste_back()
    with pytest.raises(ValueError, match="feather"):
        paste_back(img, img, np.ones((16, 16), bool), feather=-1)


# ------------------------------------------------------------------------------ pictures, dict


def test_heatmap_is_black_where_unchanged_and_bright_where_changed():
    src = np.zeros((20, 20, 3), np.uint8)
    out = src.copy()
    out[5, 5] = 255
    out[6, 6] = 30
    editable = np.zeros((20, 20), bool)
    editable[2:10, 2:10] = True
    d = compute_diff(src, out, editable)
    heat = np.asarray(d.heatmap)
    assert d.heatmap.size == (20, 20)
    assert heat[0, 0].tolist() == [0, 0, 4]  # magma's zero
    assert heat[5, 5].tolist() == [252, 253, 191]  # magma's one
    assert heat[5, 5].sum() > heat[6, 6].sum() > heat[0, 0].sum()
    over = np.asarray(d.heatmap_overlay)
    assert over[2, 5].tolist() == [0, 220, 255]  # the editable area's outline
    assert over[5, 5].tolist() == [252, 253, 191]


def test_to_dict_is_strict_json():
    src, out, editable = leaky_edit()
    d = compute_diff(src, out, editable)
    data = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert data["preservation"]["passed"] is False
    assert data["preservation"]["regions"][0]["box"] == [5, 100, 35, 120]
    assert data["inside"]["changed_fraction"] == pytest.approx(d.inside.changed_fraction)
    same = compute_diff(src, src, editable).to_dict()
    assert same["outside"]["psnr"] is None  # infinite


# ------------------------------------------------------------------------------ on the sandbox


def test_sandbox_edit_is_proven_preserved_leaky_then_restored():
    src = Image.fromarray(textured(192, 256))
    mask = Mask.box((256, 192), (64, 48, 192, 144))
    request = EditRequest(src, "a red balloon", mask=mask)
    with Client.sandbox() as client:
        clean = client.edit(request)
    d = compute_diff(src, clean.output.image, mask)
    assert d.inside is not None
    assert d.outside is not None
    assert d.inside.changed_fraction > 0.2  # the edit happened
    assert d.outside.changed_fraction == 0.0
    assert d.outside.ssim == 1.0
    assert d.preservation

    with Client.sandbox(leakage=0.2) as client:
        leaky = client.edit(request)
    d = compute_diff(src, leaky.output.image, mask)
    pres = d.preservation
    assert pres is not None
    assert not pres
    assert pres.outside.changed_fraction == pytest.approx(0.2, abs=0.01)
    left, top, right, bottom = pres.regions[0].box
    assert (left, top, right, bottom) != (64, 48, 192, 144)
    assert right - left > 128  # the drift is spread over the whole protected frame

    restored = compute_diff(src, d.paste_back(feather=6), mask)
    assert restored.outside is not None
    assert restored.outside.changed_pixels == 0
    assert restored.outside.ssim == 1.0
    assert restored.preservation


def test_diff_save_writes_pictures_and_metrics(tmp_path):
    src, out, editable = leaky_edit()
    folder = compute_diff(src, out, editable).save(tmp_path / "d")
    assert sorted(p.name for p in folder.iterdir()) == [
        "diff.json",
        "editable.png",
        "heatmap.png",
        "output.png",
        "overlay.png",
        "source.png",
    ]
    data = json.loads((folder / "diff.json").read_text())
    assert data["preservation"]["passed"] is False
    with Image.open(folder / "editable.png") as im:
        assert np.array_equal(np.asarray(im) == 255, editable)
    with Image.open(folder / "output.png") as im:
        assert np.array_equal(np.asarray(im), out)


def test_the_callers_arrays_stay_writable_and_the_diffs_do_not():
    src, out = textured(16, 16), textured(16, 16, seed=3)
    d = compute_diff(src, out)
    src[0, 0] = 0  # the caller's array is untouched by the diff
    with pytest.raises(ValueError, match="read-only"):
        d.source[0, 0] = 0


def test_feathered_paste_back_keeps_the_edit_in_regions_narrower_than_the_seam() -> None:
    src = np.zeros((60, 80, 3), np.uint8)
    out = np.full((60, 80, 3), 200, np.uint8)
    editable = np.zeros((60, 80), bool)
    editable[25:35, 35:45] = True  # 10 px wide, feather 6: a seam of 6 px from each side
    editable[0:60, 0:2] = True  # a 2 px line along the border
    pasted = np.asarray(paste_back(src, out, editable, feather=6))[..., 0]
    assert pasted[30, 40] == 200  # the deepest point of the small region keeps the full edit
    assert pasted[30, 0] == 200  # a thin region is not faded out at all
    assert (pasted[~editable] == 0).all()  # the protected area stays exact
    assert pasted[25, 35] < pasted[28, 38] <= pasted[30, 40]  # and the seam still ramps


def test_every_form_of_a_mask_is_read_by_the_one_reader(tmp_path: Path) -> None:
    src = np.zeros((48, 64, 3), np.uint8)
    out = src.copy()
    out[:, :32] = 200  # the left half changed
    mask = Mask.box((64, 48), (0, 0, 32, 48))
    path = tmp_path / "mask.png"
    mask.to_openai((64, 48)).to_pil().save(path)
    forms = [mask, mask.to_array(), mask.to_array().astype(np.uint8) * 255, str(path), path]
    for form in forms:
        d = compute_diff(src, out, form)
        assert d.editable is not None
        assert np.array_equal(d.editable, mask.to_array())
        assert d.preservation is not None
        assert d.preservation.passed
    # a mask at another size is resampled like Mask.resize
    half = compute_diff(src[::2, ::2], out[::2, ::2], mask)
    assert half.editable is not None
    assert np.array_equal(half.editable, mask.resize((32, 24)).to_array())
    with pytest.raises(MaskError, match=r"mask='float'.*a Mask, a 2-D boolean array"):
        compute_diff(src, out, 0.5)
