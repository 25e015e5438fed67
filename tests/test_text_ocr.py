"""Text checks and repairs with the real OCR engine (the ``ocr`` extra) on the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import imagewright
from imagewright import Layout, TextBlock, ValidationError
from imagewright.cli import main

if sys.version_info >= (3, 13):  # pragma: no cover - the ocr extra is not installable there
    pytest.skip("rapidocr_onnxruntime supports Python < 3.13", allow_module_level=True)

WRONG = {"X-Sandbox-Wrong-Text": "0.2"}
PROMPT = 'A shop sign that says "GRAND OPENING"'


async def test_quoted_text_drawn_by_the_sandbox_is_found(make_client: Any) -> None:
    client = make_client.sandbox()
    result = await client.generate(PROMPT, size="1024x1024", verify_text=True)
    report = result.text_check()
    assert report is not None
    assert report.passed
    (s,) = report.strings
    assert s.expected == "GRAND OPENING"
    assert s.found
    assert s.cer == 0.0
    assert s.read == "image"
    assert report.word_accuracy == 1.0
    assert report.ned == 1.0
    assert "SANDBOX" in [x.text for x in report.extra]  # the corner mark: text nobody asked for
    assert result.checks_passed
    assert "text 1/1 ok" in result.summary()


async def test_wrong_text_fails_naming_the_string_and_repair_fixes_it(make_client: Any) -> None:
    client = make_client.sandbox()
    result = await client.generate(PROMPT, size="1024x1024", extra_headers=WRONG, verify_text=True)
    report = result.text_check()
    assert report is not None
    assert not report.passed
    assert [s.expected for s in report.failed] == ["GRAND OPENING"]
    assert not result.checks_passed
    failed = [c.name for c in result.checks if not c.passed]
    assert failed == ['text "GRAND OPENING"[0]']
    assert result.summary().splitlines()[-1] == 'verdict: FAIL: text FAILED: "GRAND OPENING"'

    repair = await client._call("repair_text", result, max_attempts=2)
    assert repair.passed
    assert repair.stopped == "passed"
    assert 1 <= len(repair.attempts) <= 2
    final = repair.result
    assert final.text_check().passed
    assert final.checks_passed
    # Each attempt is a normal, paid result with its own text check.
    assert all(a.cost is not None and a.text_check() is not None for a in repair.attempts)
    assert repair.spent_usd == pytest.approx(sum(a.cost.total_usd for a in repair.attempts))
    # Outside the repaired box, the picture is byte-identical to the original output.
    before = np.asarray(result.output.image.convert("RGBA"))
    after = np.asarray(final.output.image.convert("RGBA"))
    region = final.mask.to_array() > 0
    assert region.any()
    assert final.preserved
    assert np.array_equal(before[~region], after[~region])
    assert not np.array_equal(before[region], after[region])
    # The region is the misspelt text's place, grown a little: not the whole picture.
    assert 0 < region.mean() < 0.2


async def test_repair_stops_at_the_budget_before_paying(make_client: Any) -> None:
    client = make_client.sandbox()
    result = await client.generate(PROMPT, size="1024x1024", extra_headers=WRONG)
    repair = await client._call("repair_text", result, budget=0.001)
    assert repair.stopped == "budget"
    assert repair.attempts == ()
    assert not repair.passed
    assert repair.result is result
    assert repair.spent_usd == 0.0


async def test_a_failed_edit_after_a_paid_attempt_keeps_the_attempt(make_client: Any) -> None:
    # Two wrong strings; the second edit is refused by the API (an injected 500, no retries).
    client = make_client.sandbox()
    result = await client.generate(
        'A poster: "GRAND OPENING" and "SUMMER MARKET"', size="1024x1024", extra_headers=WRONG
    )
    assert len(result.check_text().failed) == 2
    calls: list[int] = []
    real_edit = client.client.edit

    def flaky(request: Any, **options: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            options["extra_headers"] = {"X-Sandbox-Fault": "500"}
            options["max_retries"] = 0
        return real_edit(request, **options)

    client.client.edit = flaky  # type: ignore[method-assign]
    repair = await client._call("repair_text", result, max_attempts=3)
    assert repair.stopped == "error"
    assert not repair.passed
    assert len(repair.attempts) == 1
    assert repair.attempts[0].cost is not None
    assert isinstance(repair.error, imagewright.InternalServerError)
    assert repair.spent_usd == pytest.approx(repair.attempts[0].cost.total_usd)


async def test_overlay_repair_sets_the_type_locally(make_client: Any) -> None:
    client = make_client.sandbox()
    result = await client.generate(PROMPT, size="1024x1024", extra_headers=WRONG)
    repair = await client._call("repair_text", result, strategy="overlay")
    assert repair.passed
    assert repair.spent_usd == 0.0
    assert len(repair.attempts) == 1
    assert repair.result.output.raw is not None  # the API's bytes are kept


async def test_repair_refuses_bad_arguments_before_sending(make_client: Any) -> None:
    client = make_client.sandbox()
    result = await client.generate(PROMPT, size="1024x1024")
    with pytest.raises(ValidationError) as info:
        await client._call("repair_text", result, strategy="paint", max_attempts=0)
    assert set(info.value.params) == {"strategy", "max_attempts"}


def test_layout_blocks_are_read_in_their_boxes() -> None:
    # The sandbox centres quoted text; a headline box across the middle holds it.
    layout = Layout(
        "1024x1024",
        [TextBlock("GRAND OPENING", (0.05, 0.35, 0.9, 0.3), role="headline")],
        prompt=imagewright.Prompt(subject="a shop front"),
    )
    with imagewright.Client.sandbox() as client:
        result = client.generate(layout, verify_text=True)
    report = result.text_check()
    assert report is not None
    (s,) = report.strings
    assert s.name == "headline"
    assert s.box is not None
    assert s.found
    assert s.read == "box"
    assert s.in_box is True


def test_the_check_is_kept_in_the_receipt_and_the_display(tmp_path: Path) -> None:
    with imagewright.Client.sandbox() as client:
        result = client.generate(PROMPT, size="1024x1024", extra_headers=WRONG)
    result.check_text()
    loaded = imagewright.Result.load(result.save(tmp_path / "r"))
    assert loaded.text_checks == result.text_checks
    assert [c.name for c in loaded.checks if not c.passed] == ['text "GRAND OPENING"[0]']
    assert "word accuracy" in result._repr_html_()
    # The failed string is outlined (red) on the comparison picture.
    plain = np.asarray(imagewright.Result.load(tmp_path / "r").output.image.convert("RGB"))
    assert plain.shape[0] > 0
    picture = np.asarray(result.comparison(height=512).convert("RGB")).reshape(-1, 3)
    red = (picture[:, 0] > 200) & (picture[:, 1] < 80) & (picture[:, 2] < 80)
    assert red.sum() > 200


def test_cli_verify_prints_a_table_and_exits_1_on_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gen"
    assert main(["generate", PROMPT, "--sandbox", "--verify-text", "--out", str(out)]) == 0
    assert "text 1/1 ok" in capsys.readouterr().out
    image = str(out / "output-0.png")
    assert main(["verify", image, "--text", "GRAND OPENING", "--text", "CLOSED"]) == 1
    table = capsys.readouterr().out
    assert "ok    'GRAND OPENING'" in table
    assert "FAIL  'CLOSED'" in table
    assert main(["verify", image, "--text", "grand opening"]) == 0
    capsys.readouterr()
    assert main(["verify", image, "--text", "grand opening", "--exact-case"]) == 1
    capsys.readouterr()
    assert main(["verify", image]) == 2  # nothing to check
    assert "--text" in capsys.readouterr().err


def test_cli_verify_reads_a_layout_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with imagewright.Client.sandbox() as client:
        result = client.generate(PROMPT, size="1024x1024")
    image = tmp_path / "a.png"
    image.write_bytes(result.output.data)
    layout = tmp_path / "layout.json"
    layout.write_text(
        '{"canvas": "1024x1024", "regions": [{"text": "GRAND OPENING", '
        '"box": [0.05, 0.35, 0.9, 0.3], "role": "headline"}]}'
    )
    assert main(["verify", str(image), "--layout", str(layout)]) == 0
    layout.write_text('{"regions": [{"text": "A", "box": [0, 0, 1, 1], "colour": "red"}]}')
    assert main(["verify", str(image), "--layout", str(layout)]) == 2
    assert "colour" in capsys.readouterr().err


def test_the_engine_works_without_a_writable_home_and_import_stays_light() -> None:
    # Even root cannot create anything under /dev/null: a home nothing can be written to.
    code = (
        "import sys, imagewright\n"
        "assert 'rapidocr_onnxruntime' not in sys.modules and 'onnxruntime' not in sys.modules\n"
        "from PIL import Image, ImageDraw, ImageFont\n"
        "im = Image.new('RGB', (400, 120), 'white')\n"
        "font = ImageFont.load_default(size=48)\n"
        "ImageDraw.Draw(im).text((20, 30), 'OFFLINE', fill='black', font=font)\n"
        "from imagewright.text import check_image\n"
        "assert check_image(im, ['OFFLINE']).passed\n"
        "print('ok')\n"
    )
    env = {**os.environ, "HOME": "/dev/null/home", "XDG_CACHE_HOME": "/dev/null/cache"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
