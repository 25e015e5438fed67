"""Tests for Result as proof: diffs, preservation, paste-back, checks, cost, save/load, display."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest
from PIL import Image

from imagewright import AsyncClient, Client
from imagewright._receipts import png_text
from imagewright.client import SANDBOX_BASE_URL
from imagewright.edit import EditRequest
from imagewright.errors import MaskError
from imagewright.masks import Mask
from imagewright.pricing import cost_from_usage
from imagewright.results import Result, results_grid
from imagewright.sandbox import Sandbox, SandboxTransport

from ._capture import CaptureServer, Reply, images_response

SIZE = (256, 192)
BOX = (64, 48, 192, 144)


def source() -> Image.Image:
    y, x = np.mgrid[0 : SIZE[1], 0 : SIZE[0]]
    return Image.fromarray(
        np.stack([(x * 3) % 256, (y * 5) % 256, (x + y) % 256], -1).astype(np.uint8)
    )


def masked_edit(leakage: float = 0.0, **options: object) -> Result:
    request = EditRequest(source(), "a red balloon", mask=Mask.box(SIZE, BOX))
    with Client.sandbox(leakage=leakage) as client:
        return client.edit(request, **options)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ proof


def test_a_clean_masked_edit_proves_the_protected_area_untouched():
    result = masked_edit()
    assert result.source is not None
    assert result.source.size == SIZE
    assert result.mask == Mask.box(SIZE, BOX)
    d = result.diff
    assert d is not None
    assert d.inside is not None
    assert d.outside is not None
    assert d.inside.changed_fraction > 0.5
    assert d.outside.changed_fraction == 0.0
    assert d.outside.ssim == 1.0
    assert result.preservation
    assert result.checks_passed
    assert result.diff is result.diffs[0]  # cached, not recomputed


def test_a_leaky_edit_fails_preservation_and_paste_back_restores_it():
    result = masked_edit(leakage=0.1, n=2)
    assert len(result.diffs) == 2
    pres = result.preservation
    assert pres is not None
    assert not pres
    assert pres.regions
    assert "leaked" in str(pres)
    fixed = result.paste_back(feather=5)
    assert fixed is not result
    for d in fixed.diffs:
        assert d.outside is not None
        assert d.outside.changed_pixels == 0
        assert d.outside.ssim == 1.0
    assert fixed.preservation
    assert fixed.outputs[0].raw == result.outputs[0].data  # the API's bytes are kept
    assert fixed.call == result.call


async def test_a_leak_in_the_second_of_two_outputs_is_not_preserved(
    make_client: Any, capture: CaptureServer
) -> None:
    def b64(im: Image.Image) -> str:
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        return base64.b64encode(buf.getvalue()).decode()

    clean = source()
    leaky = source()
    leaky.paste((255, 0, 255), (0, 0, 40, 30))  # outside the editable box
    body = images_response(n=2, size=SIZE)
    body["data"] = [{"b64_json": b64(clean)}, {"b64_json": b64(leaky)}]
    capture.push(Reply(200, {}, body))
    client = make_client(api_key="k", base_url=capture.url)
    request = EditRequest(source(), "a red balloon", mask=Mask.box(SIZE, BOX))
    result = await client.edit(request, model="gpt-image-2", n=2)
    await client.close()
    assert result.preservation  # the first output alone is clean...
    assert not result.diffs[1].preservation
    assert result.preserved is False  # ...but the result as a whole is not


def test_a_generation_has_no_diff_and_cannot_be_pasted_back():
    with Client.sandbox() as client:
        result = client.generate("a lighthouse", size="1024x1024", quality="low")
    assert result.source is None
    assert result.mask is None
    assert result.diffs == ()
    assert result.diff is None
    assert result.preservation is None
    with pytest.raises(MaskError, match="paste_back"):
        result.paste_back()
    names = [c.name for c in result.checks]
    assert names[:3] == ["count", "format[0]", "dimensions[0]"]
    assert result.checks_passed


def test_cost_and_estimate_come_from_usage_and_the_call():
    with Client.sandbox() as client:
        result = client.generate("a lighthouse", size="1024x1024", quality="high")
    assert result.usage is not None
    assert result.cost == cost_from_usage("gpt-image-2", result.usage)
    assert result.cost is not None
    assert result.cost.total_usd == pytest.approx(0.211, abs=0.001)
    assert result.estimate.covers(result.usage)


def test_a_failed_check_is_reported_on_the_result():
    result = masked_edit()
    forged = replace(result, outputs=(result.outputs[0], result.outputs[0]))
    assert not forged.checks_passed
    assert not next(c for c in forged.checks if c.name == "count")


async def test_async_results_carry_the_same_proof():
    request = EditRequest(source(), "a red balloon", mask=Mask.box(SIZE, BOX))
    async with AsyncClient.sandbox(leakage=0.2) as client:
        result = await client.edit(request)
    assert not result.preservation
    assert result.paste_back().preservation


# ------------------------------------------------------------------------------ save, load


def test_save_and_load_round_trip_an_edit(tmp_path: Path):
    result = masked_edit(leakage=0.05, n=2)
    folder = result.save(tmp_path / "edit")
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "compare-0.png",
        "compare-1.png",
        "diff-0.png",
        "diff-1.png",
        "mask.png",
        "output-0.png",
        "output-1.png",
        "result.json",
        "source-0.png",
    ]
    loaded = Result.load(folder)
    assert loaded == result
    assert loaded.preservation is not None
    assert not loaded.preservation
    receipt = json.loads((folder / "result.json").read_text())
    assert receipt["call"]["prompt"] == "a red balloon"
    assert receipt["call"]["images"][0]["sha256"] == result.call.images[0].sha256
    assert receipt["metrics"][0]["preservation"]["passed"] is False
    assert receipt["cost"]["total_usd"] == pytest.approx(result.cost.total_usd)  # type: ignore[union-attr]
    assert {c["name"] for c in receipt["checks"]} >= {"count", "format[0]", "aspect[1]"}


def test_round_trip_of_generations_pasted_results_and_streams(tmp_path: Path):
    with Client.sandbox() as client:
        generated = client.generate("a kite", size="1024x1536", quality="low", output_format="jpeg")
        streamed = list(client.stream_generate("a kite", partial_images=2))[-1]
    pasted = masked_edit(leakage=0.1).paste_back(feather=3)
    assert isinstance(streamed, Result)
    assert len(streamed.partial_images) == 2
    for i, result in enumerate((generated, pasted, streamed)):
        assert Result.load(result.save(tmp_path / str(i))) == result
    assert (tmp_path / "0" / "output-0.jpg").exists()
    assert (tmp_path / "1" / "output-0.raw.png").exists()
    assert (tmp_path / "2" / "partial-1.png").exists()


def test_png_outputs_carry_the_receipts_essentials(tmp_path: Path):
    result = masked_edit()
    folder = result.save(tmp_path)
    data = (folder / "output-0.png").read_bytes()
    texts = png_text(data)
    assert texts["prompt"] == "a red balloon"
    assert texts["model"] == "gpt-image-2"
    assert texts["fingerprint"] == result.call.fingerprint
    with Image.open(io.BytesIO(data)) as im:  # still a valid PNG with the same pixels
        assert np.array_equal(np.asarray(im), np.asarray(result.output.image))
        assert im.text["imagewright:prompt"] == "a red balloon"


def test_writes_are_atomic_and_tampering_is_caught(tmp_path: Path):
    folder = masked_edit().save(tmp_path)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]
    src = folder / "source-0.png"
    src.write_bytes(src.read_bytes()[:-1] + b"\0")
    with pytest.raises(ValueError, match=r"source-0\.png"):
        Result.load(folder)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "result.json").write_text('{"schema": "something else"}')
    with pytest.raises(ValueError, match="not an imagewright result"):
        Result.load(tmp_path / "other")


def test_the_api_key_is_never_written(tmp_path: Path):
    key = "sk-imagewright-test-" + "S3CR3T" * 6
    engine = Sandbox(api_key=key)
    http = httpx2.Client(transport=SandboxTransport(engine))
    with Client(key, base_url=SANDBOX_BASE_URL, http_client=http) as client:
        request = EditRequest(source(), "a red balloon", mask=Mask.box(SIZE, BOX))
        result = client.edit(request, model="gpt-image-2")
    folder = result.save(tmp_path)
    for path in folder.iterdir():
        assert key.encode() not in path.read_bytes(), path.name
        assert b"S3CR3T" not in path.read_bytes(), path.name
    assert key not in repr(result)
    assert key not in result._repr_html_()


# ------------------------------------------------------------------------------ display


def test_repr_png_shows_source_output_and_diff():
    result = masked_edit(leakage=0.1)
    with Image.open(io.BytesIO(result._repr_png_())) as im:
        # three 256-px-high panels of a 4:3 image side by side, with a caption below
        assert im.width > 3 * 256 * 4 // 3
        assert im.height > 256


def test_repr_html_escapes_the_prompt_and_embeds_the_picture():
    request = EditRequest(source(), "<script>alert(1)</script> a balloon", mask=Mask.box(SIZE, BOX))
    with Client.sandbox() as client:
        result = client.edit(request)
    page = result._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "data:image/png;base64," in page
    assert "preserved" in page


def test_results_grid_lays_out_annotated_cells():
    results = [masked_edit(), masked_edit(leakage=0.1), masked_edit()]
    sheet = results_grid(results, columns=2, cell=128)
    cell_w = sheet.width // 2
    assert sheet.width == 2 * cell_w
    assert sheet.height > 2 * 128
    with pytest.raises(ValueError, match="at least one"):
        results_grid([])


def test_summary_is_a_short_plain_text_report():
    text = masked_edit(leakage=0.1, n=2).summary()
    lines = text.splitlines()
    assert lines[0].startswith("gpt-image-2  256x192")
    assert lines[1].startswith("cost $")
    assert "output 1: LEAKED: 10.00% outside" in text
    assert text.isascii()


def test_markup_edits_round_trip_and_diff_the_whole_image(tmp_path: Path):
    overlay = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    overlay.paste((255, 0, 0, 255), (100, 80, 140, 120))
    request = EditRequest(source(), "put a red box here", markup=overlay)
    with Client.sandbox() as client:
        result = client.edit(request, model="gpt-image-2.5-flare")
    assert result.mask is None
    assert result.diff is not None
    assert result.diff.inside is None
    assert result.preservation is None
    folder = result.save(tmp_path)
    assert (folder / "markup.png").exists()
    assert Result.load(folder) == result


def test_an_output_of_another_size_is_diffed_against_the_resized_source():
    result = masked_edit(leakage=0.1, size="1024x768")
    d = result.diff
    assert d is not None
    assert d.source_resized
    assert d.size == (1024, 768)
    fixed = result.paste_back()
    assert fixed.diff is not None
    assert fixed.diff.outside is not None
    assert fixed.diff.outside.changed_pixels == 0


def test_a_clean_edit_at_another_size_still_proves_preservation():
    result = masked_edit(size="1024x768")
    assert result.preservation


def test_checks_judge_the_api_output_not_the_local_finish() -> None:
    from imagewright import Client, Layout

    with Client.sandbox() as client:
        result = client.generate(Layout.banner("Autumn sale", image="sweaters", text="overlay"))
    assert result.output.size == (1200, 628)  # the exact deliverable
    assert result.checks_passed, [c for c in result.checks if not c.passed]


def test_usage_sums_every_field() -> None:
    from imagewright import Usage

    u = Usage.model_validate(
        {
            "input_tokens": 10,
            "output_tokens": 100,
            "total_tokens": 110,
            "input_tokens_details": {"text_tokens": 10, "image_tokens": 0, "cached_text_tokens": 4},
            "output_tokens_details": {"image_tokens": 100, "text_tokens": 0},
        }
    )
    total = u + u
    assert total.total_tokens == 220
    assert total.output_tokens_details is not None
    assert total.output_tokens_details.image_tokens == 200
    assert total.input_tokens_details.model_dump()["cached_text_tokens"] == 8
    # A field only one side reports (cached tokens on the second event) is kept either way.
    plain = Usage.model_validate(
        {
            "input_tokens": 10,
            "output_tokens": 100,
            "total_tokens": 110,
            "input_tokens_details": {"text_tokens": 10, "image_tokens": 0},
        }
    )
    for mixed in (plain + u, u + plain):
        assert mixed.input_tokens_details.model_dump()["cached_text_tokens"] == 4
        assert mixed.output_tokens_details.image_tokens == 100


def test_jpeg_paste_back_saves_the_raw_bytes_under_their_own_extension(tmp_path: Path) -> None:
    import io

    from PIL import Image

    from imagewright import Client, EditRequest, Mask, Result
    from imagewright.images import sniff_format

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (30, 60, 90)).save(buf, format="PNG")
    with Client.sandbox(leakage=0.05) as client:
        edit = client.edit(
            EditRequest(buf.getvalue(), "x", mask=Mask.box((256, 256), (0, 0, 128, 128))),
            output_format="jpeg",
        )
    fixed = edit.paste_back()
    fixed.save(tmp_path)
    raws = list(tmp_path.glob("output-0.raw.*"))
    assert [p.suffix for p in raws] == [".jpg"]
    assert sniff_format(raws[0].read_bytes()) == "jpeg"
    assert Result.load(tmp_path) == fixed


# ------------------------------------------------------------------------------ issue 16


def test_a_leak_is_never_summarised_next_to_ok() -> None:
    text = masked_edit(leakage=0.1).summary()
    assert "LEAKED" in text
    assert "ok" not in text.split()
    assert text.splitlines()[-1] == "verdict: FAIL: the protected area changed"
    clean = masked_edit().summary()
    assert clean.splitlines()[-1] == "verdict: PASS"


def test_notebook_html_shows_the_call_cost_once() -> None:
    result = masked_edit(n=4)
    assert result.cost is not None
    page = result._repr_html_()
    total = f"${result.cost.total_usd:.4f}"
    assert page.count(total) == 1
    assert "for the call (4 images)" in page


def test_results_grid_shows_every_output_labelled() -> None:
    one, four = masked_edit(), masked_edit(n=4)
    sheet = results_grid([one, four], columns=5, cell=64)
    single = results_grid([one], columns=5, cell=64)
    assert sheet.width == 5 * single.width  # one cell per output: 1 + 4
    from imagewright._display import share_text

    assert four.cost is not None
    assert share_text(four) == (
        f"share ${four.cost.total_usd / 4:.4f} (1/4 of ${four.cost.total_usd:.4f})"
    )


def test_a_portrait_result_picture_keeps_its_whole_caption() -> None:
    from PIL import ImageFont

    with Client.sandbox() as client:
        result = client.generate("a tall tower", size="1024x1536", quality="medium")
    picture = Image.open(io.BytesIO(result._repr_png_()))
    font = ImageFont.load_default(12)
    from imagewright._display import summary_lines

    widest = max(font.getlength(text) for text, _ in summary_lines(result))
    assert picture.width >= widest + 8  # the header line "gpt-image-2  1024x1536  q=medium..."
    leak = masked_edit(leakage=0.1, size="1024x1536")
    caption = leak.comparison(height=128)
    longest = max(font.getlength(text) for text, _ in summary_lines(leak))
    assert caption.width < longest  # a long verdict wraps instead of widening the picture
    lines = len(summary_lines(leak))
    assert caption.height > 128 + 14 * (lines + 1)  # ...onto more lines than it has


def test_a_faint_small_leak_is_visible_in_the_overlay() -> None:
    from imagewright.diff import compute_diff

    src = np.full((256, 256, 3), 120, np.uint8)
    out = src.copy()
    editable = np.zeros((256, 256), bool)
    editable[:, :128] = True
    out[200:204, 200:204] += 6  # a faint 4x4 leak, 6 levels
    d = compute_diff(src, out, editable, threshold=2)
    assert d.outside is not None
    assert d.outside.changed_pixels == 16
    overlay = np.asarray(d.heatmap_overlay).astype(int)
    untouched = overlay[100, 220]
    spot = overlay[201, 201]
    assert np.abs(spot - untouched).max() > 100  # plainly visible, not a 6-level tint
    assert tuple(overlay[198, 201]) == (255, 40, 40)  # the region is boxed


def test_scattered_and_local_leaks_read_differently() -> None:
    from imagewright.diff import compute_diff

    rng = np.random.default_rng(0)
    src = np.zeros((256, 256, 3), np.uint8)
    editable = np.zeros((256, 256), bool)
    editable[:64, :64] = True
    scattered = src.copy()
    specks = rng.random((256, 256)) < 0.05
    scattered[specks & ~editable] = 200
    local = src.copy()
    local[150:200, 150:200] = 200
    s = compute_diff(src, scattered, editable).preservation
    loc = compute_diff(src, local, editable).preservation
    assert s is not None
    assert loc is not None
    assert s.pattern == "scattered"
    assert loc.pattern == "local"
    assert "scattered" in str(s)
    assert "local: the largest at (150, 150, 200, 200) holds 100%" in str(loc)


@pytest.mark.parametrize("stream", [False, True])
def test_each_image_is_held_once_not_again_as_base64(tmp_path: Path, stream: bool) -> None:
    # A 2048x2048 answer is 6.4 MB of base64: the result keeps the decoded bytes only.
    with Client.sandbox() as client:
        if stream:
            *_, result = client.stream_generate("a lighthouse", quality="low", partial_images=1)
            assert isinstance(result, Result)
        else:
            result = client.generate("a lighthouse", quality="low")
    assert result.response is not None
    assert result.response.data
    assert [item.b64_json for item in result.response.data] == [None]
    assert result.response.usage == result.usage  # every other field is kept
    result.save(tmp_path / "r")
    loaded = Result.load(tmp_path / "r")
    assert loaded.response == result.response
    assert loaded.output.data == result.output.data
