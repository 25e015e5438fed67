"""Every example runs offline on the sandbox, says where it wrote, and wrote what it says.

The pictures in docs/img are made by the examples (examples/make_pictures.py); one test makes
them again and compares them pixel for pixel, so a picture in the docs cannot go stale.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imagewright

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


def run_example(name: str, *args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI"))}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "offline sandbox" in done.stdout  # never the real API without a key
    assert "Warning" not in done.stderr, done.stderr
    return done.stdout


def written(stdout: str, cwd: Path) -> Path:
    """The folder or file named by the example's 'wrote ...' line, which must exist."""
    match = re.search(r"^wrote (\S+?)/? ", stdout, re.M) or re.search(
        r"^wrote (\S+)$", stdout, re.M
    )
    assert match, stdout
    path = cwd / match.group(1).rstrip("/")
    assert path.exists(), path
    return path


def differs(a: Path, b: Path) -> bool:
    """Whether two pictures differ by more than a caption's timing (``0.1s`` vs ``0.2s``).

    The captions under a comparison or a contact sheet show how long each call took, which
    varies from run to run; anything else the examples draw is deterministic on the sandbox.
    """
    with Image.open(a) as im_a, Image.open(b) as im_b:
        if im_a.size != im_b.size:
            return True
        pa = np.asarray(im_a.convert("RGBA"))
        pb = np.asarray(im_b.convert("RGBA"))
    return float(np.mean(np.any(pa != pb, axis=-1))) > 0.002


@pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None, reason="needs imagewright[ocr]"
)
def test_product_shot_label_text_is_verified_by_ocr(tmp_path: Path) -> None:
    out = run_example("product_shot.py", "shot", cwd=tmp_path)
    assert "label 'ORCHARD GOLD': found" in out
    result = imagewright.Result.load(written(out, tmp_path))
    (check,) = result.text_checks
    assert check.passed
    assert [s.expected for s in check.strings] == ["ORCHARD GOLD"]


def test_poster_is_finished_to_the_deliverable(tmp_path: Path) -> None:
    out = run_example("poster.py", "poster.png", cwd=tmp_path)
    with Image.open(written(out, tmp_path)) as poster:
        assert poster.size == (1100, 1700)  # 11x17in at 100 dpi


def test_masked_edit_proves_preservation_and_pastes_back(tmp_path: Path) -> None:
    out = run_example("masked_edit.py", "edit", cwd=tmp_path)
    assert "after paste-back: 0.0% changed outside the mask" in out
    result = imagewright.Result.load(written(out, tmp_path))
    assert result.preservation is not None
    assert result.preservation.passed
    protected = ~np.asarray(result.mask)  # type: ignore[arg-type]
    source = np.asarray(result.source.convert("RGB"))  # type: ignore[union-attr]
    output = np.asarray(result.output.image.convert("RGB"))
    assert np.array_equal(source[protected], output[protected])  # byte for byte outside
    assert not np.array_equal(source[~protected], output[~protected])  # the sky did change


def test_outpainting_widens_a_square_to_16_9(tmp_path: Path) -> None:
    out = run_example("outpainting.py", "wide", cwd=tmp_path)
    result = imagewright.Result.load(written(out, tmp_path))
    assert result.output.size == (1824, 1024)
    assert result.source is not None
    assert result.source.size == (1824, 1024)
    assert result.preserved


def test_campaign_delivers_every_size_from_one_layout(tmp_path: Path) -> None:
    out = run_example("campaign.py", "campaign", cwd=tmp_path)
    folder = written(out, tmp_path)
    sizes = {p.name: imagewright.Result.load(p).output.size for p in folder.iterdir() if p.is_dir()}
    assert sizes == {
        "square-post": (1080, 1080),
        "story": (1080, 1920),
        "banner": (1200, 628),
        "wide-header": (1500, 500),
        "print-poster": (1100, 1700),
    }
    assert (folder / "contact-sheet.png").stat().st_size > 0


def test_conversation_turns_with_a_masked_turn_and_an_undo(tmp_path: Path) -> None:
    out = run_example("conversation.py", "out", cwd=tmp_path)
    assert "history after the undo: 3 turns" in out
    assert "wrote out/" in out
    conv = imagewright.Conversation.load(imagewright.Client("unused"), tmp_path / "out")
    assert len(conv.history) == 3
    assert conv.history[-1].prompt_text == "Give the shop a green awning instead"
    assert conv.history[-1].preservation is not None
    assert conv.history[-1].preservation.passed
    assert (tmp_path / "out" / "filmstrip.png").stat().st_size > 0


def test_the_pictures_in_the_docs_are_what_the_examples_make(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "make_pictures.py"), str(tmp_path)],
        env={k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    made = sorted(p.name for p in tmp_path.glob("*.png"))
    assert made == sorted(
        [
            "contact-sheet.png",
            "conversation-filmstrip.png",
            "mask-preview.png",
            "masked-edit.png",
            "poster-steps.png",
            "poster.png",
            "session-filmstrip.png",
        ]
    )
    assert "wrote" in done.stdout
    stale = [name for name in made if differs(tmp_path / name, ROOT / "docs/img" / name)]
    assert not stale, f"out of date: {stale}; run python examples/make_pictures.py"


def test_catalogue_batch_resumes_from_its_ledger_and_sends_nothing_again(tmp_path: Path) -> None:
    out = run_example("catalogue.py", "cat", "--n", "60", cwd=tmp_path)
    assert "60 requests in" in out
    assert "60 done" in out  # the first run sent them all
    assert "re-run sent 0 new requests; 60 came from the ledger" in out
    folder = written(out, tmp_path)
    products = sorted(p.name for p in (folder / "results").iterdir())
    assert products == [f"sku-{i:04d}" for i in range(1, 61)]
    assert (folder / "catalogue.ledger").exists()
    result = imagewright.Result.load(folder / "results" / "sku-0042")
    assert result.output.size == (1024, 1024)
    assert "SKU 0042" in result.call.prompt


def test_session_edits_undoes_branches_and_saves_a_folder_that_loads(tmp_path: Path) -> None:
    out = run_example("session.py", "out", cwd=tmp_path)
    assert "history: 3 steps; paid for: 4 steps" in out
    session = imagewright.Session.load(written(out, tmp_path))
    assert session.branches == {"main": 2, "lamp": 4}
    assert session.branch_name == "lamp"
    assert [s.instruction for s in session.history] == [
        "Show a snowy mountain view through the window",
        "Lay a red patterned rug on the floor",
        "Add a tall brass floor lamp in the corner",
    ]
    assert session.steps[2].instruction == "Make the rug bright green"  # undone, still kept
    for step in session.history:
        assert step.preservation is not None
        assert step.preservation.passed
    assert session.preservation is not None
    assert session.preservation.passed  # nothing protected since the source changed
    with Image.open(tmp_path / "out" / "filmstrip.png") as strip:
        assert strip.height >= 200
        assert strip.width > strip.height  # source and three steps side by side


def test_batch_api_collects_every_line_in_order_with_its_proof(tmp_path: Path) -> None:
    out = run_example("batch_api.py", "out", "--delay", "0.5", cwd=tmp_path)
    assert "files uploaded: 5" in out  # 2 photos and 1 mask for 4 edits, 2 JSONL files
    assert "completed: 6 done, 1 failed" in out
    folder = written(out, tmp_path)
    edits = ["mug-counter", "mug-desk", "lamp-counter", "lamp-desk"]
    for name in edits:
        result = imagewright.Result.load(folder / name)
        assert result.preservation is not None
        assert result.preservation.passed  # the product was not touched
    for name in ["poster-sale", "poster-open"]:
        assert imagewright.Result.load(folder / name).output.size == (1024, 1024)
    lines = (folder / "failures.jsonl").read_text().splitlines()
    assert [json.loads(line)["custom_id"] for line in lines] == ["poster-fails"]
    assert not (folder / "poster-fails").exists()
    assert json.loads((folder / "job.json").read_text())  # the handle, to collect elsewhere
    shown = re.findall(r"^(\S+) +(?:1024x1024|failed)", out, re.M)
    assert shown == [*edits, "poster-sale", "poster-open", "poster-fails"]  # in the order given
