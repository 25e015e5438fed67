"""Result folders never mix two runs, and saved files get the user's umask (issue 16)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import imagewright
from imagewright.cli import main


@pytest.fixture
def result() -> Iterator[imagewright.Result]:
    with imagewright.Client.sandbox() as client:
        yield client.generate('A sign that says "OPEN"', size="1024x1024", quality="low", n=2)


def _one(quality: str = "low") -> imagewright.Result:
    with imagewright.Client.sandbox() as client:
        return client.generate("a fox", size="1024x1024", quality=quality)


def test_saving_over_an_earlier_result_is_refused_then_replaced_cleanly(
    tmp_path: Path, result: imagewright.Result
) -> None:
    folder = tmp_path / "r"
    result.save(folder)
    assert (folder / "output-1.png").exists()
    (folder / "my-notes.txt").write_text("mine")
    single = _one()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        single.save(folder)
    assert imagewright.Result.load(folder).outputs[1].data == result.outputs[1].data
    single.save(folder, overwrite=True)
    assert not (folder / "output-1.png").exists()  # the older run's second output is gone
    assert (folder / "my-notes.txt").read_text() == "mine"  # never ours to delete
    assert imagewright.Result.load(folder).output.data == single.output.data


def test_a_diff_folder_follows_the_same_rule(tmp_path: Path, result: imagewright.Result) -> None:
    import numpy as np

    from imagewright import compute_diff

    a = np.zeros((32, 32, 3), np.uint8)
    editable = np.zeros((32, 32), bool)
    editable[:8] = True
    compute_diff(a, a, editable).save(tmp_path / "d")
    assert (tmp_path / "d" / "editable.png").exists()
    with pytest.raises(FileExistsError):
        compute_diff(a, a).save(tmp_path / "d")
    compute_diff(a, a).save(tmp_path / "d", overwrite=True)
    assert not (tmp_path / "d" / "editable.png").exists()


def test_saved_files_respect_the_umask(tmp_path: Path, result: imagewright.Result) -> None:
    old = os.umask(0o022)
    try:
        result.save(tmp_path / "a")
        os.umask(0o077)
        result.save(tmp_path / "b")
    finally:
        os.umask(old)
    for name in ("output-0.png", "result.json"):
        assert stat.S_IMODE((tmp_path / "a" / name).stat().st_mode) == 0o644
        assert stat.S_IMODE((tmp_path / "b" / name).stat().st_mode) == 0o600


def test_cli_default_folder_gets_a_fresh_name_and_out_is_refused_when_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["generate", "a fox", "--sandbox", "--quality", "low"]
    assert main([*argv, "-n", "2"]) == 0
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "writing to imagewright-result-2/" in err
    assert sorted(p.name for p in (tmp_path / "imagewright-result-2").glob("output-*")) == [
        "output-0.png"
    ]
    assert (tmp_path / "imagewright-result" / "output-1.png").exists()  # first run untouched

    out = str(tmp_path / "imagewright-result")
    assert main([*argv, "--out", out]) == 2
    assert "--overwrite" in capsys.readouterr().err
    (tmp_path / "imagewright-result" / "keep.txt").write_text("x")
    assert main([*argv, "--out", out, "--overwrite"]) == 0
    assert "kept 1 other file(s): keep.txt" in capsys.readouterr().err
    left = sorted(p.name for p in (tmp_path / "imagewright-result").iterdir())
    assert left == ["keep.txt", "output-0.png", "result.json"]


def test_cli_diff_default_folder_is_not_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (32, 32), "red").save("a.png")
    assert main(["diff", "a.png", "a.png"]) == 0
    assert main(["diff", "a.png", "a.png"]) == 0
    assert (tmp_path / "imagewright-diff" / "diff.json").exists()
    assert (tmp_path / "imagewright-diff-2" / "diff.json").exists()


def test_a_generation_saves_no_picture_that_repeats_its_outputs(
    tmp_path: Path, result: imagewright.Result
) -> None:
    """Save speed: a generation's compare-<i>.png only repeated the output; opt in to get it."""
    plain = result.save(tmp_path / "plain")
    assert sorted(p.name for p in plain.iterdir()) == [
        "output-0.png",
        "output-1.png",
        "result.json",
    ]
    assert imagewright.Result.load(plain) == result
    full = result.save(tmp_path / "full", pictures=True)
    assert (full / "compare-1.png").exists()
    assert imagewright.Result.load(full) == result
