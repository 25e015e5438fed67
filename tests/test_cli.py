"""The ``imagewright`` command: the demo (the main job) and the result commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from imagewright.cli import main

from .conftest import png_bytes


def test_demo_runs_offline_and_writes_everything(tmp_path: Path) -> None:
    import imagewright

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    assert {p.name for p in out.iterdir()} == {
        "1-poster",
        "2-masked-edit",
        "3-streamed-edit",
        "poster-guide.png",
        "receipt.json",
    }
    receipt = json.loads((out / "receipt.json").read_text())
    assert receipt["mode"] == "sandbox"
    steps = {s["step"]: s for s in receipt["steps"]}
    assert set(steps) == {"layout poster", "masked edit", "streamed edit"}
    assert all(s["checks_passed"] for s in receipt["steps"])
    assert receipt["total_cost_usd"] > 0
    # the poster is the layout's exact deliverable, and the masked edit stayed in its lane
    poster = imagewright.Result.load(out / "1-poster")
    assert poster.output.size == (1024, 1536)
    edit = imagewright.Result.load(out / "2-masked-edit")
    assert edit.preservation is not None
    assert edit.preservation.passed
    assert steps["masked edit"]["diff"]["outside"]["changed_fraction"] == 0
    assert steps["masked edit"]["diff"]["inside"]["changed_fraction"] > 0.3
    assert (out / "2-masked-edit" / "diff-0.png").exists()
    streamed = imagewright.Result.load(out / "3-streamed-edit")
    assert len(streamed.partial_images) == 2
    assert steps["streamed edit"]["partials"] == 2


def test_demo_says_loudly_that_it_is_offline(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI")}
    proc = subprocess.run(
        [sys.executable, "-m", "imagewright", "demo", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "OFFLINE" in proc.stdout
    assert "sandbox" in proc.stdout


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert "imagewright" in capsys.readouterr().out
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_generate_without_key_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "a fox", "--out", str(tmp_path / "r")]) == 4
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err
    assert "--sandbox" in err


def test_validation_errors_exit_2_and_send_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["generate", "a fox", "--sandbox", "--size", "999x999", "--out", str(tmp_path / "r")]
    )
    assert code == 2
    assert "size" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_estimate_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "in.png"
    img.write_bytes(png_bytes((1024, 768)))
    out = tmp_path / "est"
    assert (
        main(["estimate", "a fox", "--quality", "high", "--size", "1024x1024", "--out", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "expected" in text
    assert "$0.21" in text
    assert json.loads((out / "estimate.json").read_text())["estimate"]["expected_usd"] > 0.2
    assert main(["estimate", "add a hat", "--image", str(img), "--quality", "low"]) == 0
    assert "/images/edits" in capsys.readouterr().out


def test_diff_command_measures_inside_and_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = Image.new("RGB", (64, 64), (10, 10, 10))
    b = a.copy()
    b.paste((250, 250, 250), (0, 0, 16, 16))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 32))
    for name, im in (("a.png", a), ("b.png", b), ("m.png", mask)):
        im.save(tmp_path / name)
    out = tmp_path / "diff"
    code = main(
        [
            "diff",
            str(tmp_path / "a.png"),
            str(tmp_path / "b.png"),
            "--mask",
            str(tmp_path / "m.png"),
            "--editable",
            "white",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "preserved" in text
    report = json.loads((out / "diff.json").read_text())
    assert report["inside"]["changed_fraction"] == pytest.approx(256 / 1024)
    assert report["outside"]["changed_fraction"] == 0
    # the change leaks out of a smaller mask: exit code 1, and the folder still written
    small = Image.new("L", (64, 64), 0)
    small.paste(255, (0, 0, 8, 8))
    small.save(tmp_path / "small.png")
    code = main(
        [
            "diff",
            str(tmp_path / "a.png"),
            str(tmp_path / "b.png"),
            "--mask",
            str(tmp_path / "small.png"),
            "--editable",
            "white",
            "--out",
            str(tmp_path / "diff2"),
        ]
    )
    assert code == 1
    assert "leaked" in capsys.readouterr().out
    assert (tmp_path / "diff2" / "heatmap.png").exists()


def test_serve_command_answers_the_official_sdk() -> None:
    import socket
    import warnings

    import openai

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "imagewright", "serve", "--port", str(port), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1" in line
        assert "NOT a model" in line
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sdk = openai.OpenAI(
                api_key="any", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
            )
            result = sdk.images.generate(
                model="gpt-image-2", prompt='"HI"', quality="low", size="1024x1024"
            )
            sdk.close()
        assert result.data is not None
        assert result.data[0].b64_json
        assert result.usage is not None
        assert result.usage.output_tokens == 196
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_generate_on_the_sandbox_saves_a_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import imagewright

    out = tmp_path / "gen"
    code = main(
        [
            "generate",
            'a sign that says "OPEN"',
            "--sandbox",
            "--quality",
            "low",
            "-n",
            "2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "gpt-image-2" in text
    assert "cost $" in text
    loaded = imagewright.Result.load(out)
    assert len(loaded.outputs) == 2
    assert loaded.output.size == (1024, 1024)


def test_edit_with_box_and_keep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import imagewright

    src = tmp_path / "room.png"
    src.write_bytes(png_bytes((512, 384), (90, 120, 150)))
    out = tmp_path / "edit"
    code = main(
        [
            "edit",
            str(src),
            "-p",
            'a window that says "SKY"',
            "--box",
            "0,0,0.5,0.5",
            "--keep",
            "0,0,64,64",
            "--sandbox",
            "--quality",
            "low",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr()
    result = imagewright.Result.load(out)
    mask = result.mask
    assert mask is not None
    assert mask.bbox == (0, 0, 256, 192)
    assert mask.to_array()[:64, :64].sum() == 0  # the kept corner is not editable
    assert result.preservation is not None
    assert result.preservation.passed


def test_edit_that_leaks_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import imagewright

    original = imagewright.Client.sandbox.__func__  # type: ignore[attr-defined]

    def leaky(cls: type, **kw: object) -> imagewright.Client:
        return original(cls, leakage=0.2, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(imagewright.Client, "sandbox", classmethod(leaky))
    src = tmp_path / "room.png"
    src.write_bytes(png_bytes((256, 256)))
    code = main(
        [
            "edit",
            str(src),
            "-p",
            "x",
            "--box",
            "0,0,128,128",
            "--sandbox",
            "--out",
            str(tmp_path / "e"),
        ]
    )
    assert code == 1
    assert "LEAKED" in capsys.readouterr().out
    assert (tmp_path / "e" / "result.json").exists()  # what was paid for is written down


def test_an_unwritable_out_folder_is_refused_before_paying(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "a.png"
    src.write_bytes(png_bytes((64, 64)))
    code = main(["edit", str(src), "-p", "x", "--sandbox", "--out", str(src)])
    assert code == 2
    assert "--out" in capsys.readouterr().err


def test_demo_exits_1_when_the_edit_leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imagewright

    original = imagewright.Client.sandbox.__func__  # type: ignore[attr-defined]

    def leaky(cls: type, **kw: object) -> imagewright.Client:
        return original(cls, leakage=0.3, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(imagewright.Client, "sandbox", classmethod(leaky))
    assert main(["demo", "--out", str(tmp_path / "d"), "--quiet"]) == 1
    assert (tmp_path / "d" / "receipt.json").exists()


def test_diff_and_edit_read_a_mask_file_by_one_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A black-and-white mask without alpha is refused by both commands, naming the file and
    the flag; with --editable white both accept it."""
    src = tmp_path / "src.png"
    Image.new("RGB", (64, 64), (10, 10, 10)).save(src)
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (0, 0, 32, 32))
    mask_path = tmp_path / "bw-mask.png"
    mask.save(mask_path)
    diff = ["diff", str(src), str(src), "--mask", str(mask_path), "--out", str(tmp_path / "d")]
    edit = ["edit", str(src), "-p", "x", "--mask", str(mask_path), "--sandbox"]
    edit += ["--out", str(tmp_path / "e")]
    for argv in (diff, edit):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"--mask={str(mask_path)!r}" in err
        assert "no alpha channel" in err
        assert "--editable 'white'" in err
        assert "mode L" not in err
    assert main([*diff, "--editable", "white"]) == 0
    assert main([*edit, "--editable", "white"]) == 0


def test_diff_says_when_it_resized(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.new("RGB", (512, 768), (10, 10, 10)).save(tmp_path / "a.png")
    Image.new("RGB", (1024, 1536), (10, 10, 10)).save(tmp_path / "b.png")
    argv = ["diff", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--out", str(tmp_path / "d")]
    assert main(argv) == 0
    assert "A 512x768 was resized to B's 1024x1536" in capsys.readouterr().out


def test_estimate_table_shows_n_and_what_output_tokens_cover(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["estimate", "a fox", "-n", "4", "--size", "1024x1024", "--quality", "low"]) == 0
    out = capsys.readouterr().out
    assert "images (n)          4" in out
    assert "for the call (" in out
    assert "per image)" in out


def test_cli_errors_name_the_cli_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "r"), "--sandbox"]
    assert main(["generate", "a fox", "--compression", "50", *out]) == 2
    err = capsys.readouterr().err
    assert "--compression=50" in err
    assert "set --format 'jpeg' or 'webp', or omit --compression" in err
    assert "output_compression" not in err
    assert "output_format" not in err
    assert main(["generate", "a fox", "--model", "gpt-image2", *out]) == 2
    err = capsys.readouterr().err
    assert "--model='gpt-image2'" in err
    assert "did you mean 'gpt-image-2'" in err
    assert "model=" not in err.replace("--model=", "")
