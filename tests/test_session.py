"""Sessions on the sandbox: edits that chain, undo, branches, drift across steps, replay and
save/load; on both clients."""

from __future__ import annotations

import asyncio
import html
import inspect
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import imagewright
from imagewright import (
    AsyncSession,
    ConfigurationError,
    EditRequest,
    InternalServerError,
    Mask,
    ReplayError,
    Session,
    ValidationError,
)
from imagewright.sandbox import SandboxServer

from .conftest import png_bytes

SIZE = (256, 256)
LEFT = Mask.box(SIZE, (0, 0, 0.5, 0.5))
RIGHT = Mask.box(SIZE, (0.5, 0, 1.0, 0.5))


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _source() -> Image.Image:
    return Image.new("RGB", SIZE, (100, 150, 200))


def _start(make_client: Any, **behaviour: Any) -> tuple[Any, Any]:
    """A sandbox client of the test's kind and a session on it (low quality, 256x256)."""
    client = make_client.sandbox(**behaviour)
    return client, client.client.session(_source(), quality="low")


async def _edits(session: Any, *prompts: str, mask: Any = LEFT) -> list[imagewright.Result]:
    return [await _maybe(session.edit(p, mask=mask)) for p in prompts]


def _engine(client: Any) -> Any:
    return client.client.sandbox_engine


def _session_class(make_client: Any) -> type[Any]:
    return AsyncSession if make_client.kind == "async" else Session


# ---- editing and history ---------------------------------------------------------------------


async def test_each_edit_edits_the_last_image_with_the_session_defaults(make_client: Any) -> None:
    client, session = _start(make_client)
    assert session.current.data == session.origin.data  # nothing edited yet
    first, second = await _edits(session, "paint a red kite", "add a blue sun")
    third = await _maybe(session.edit("make it night", mask=RIGHT, quality="medium"))

    assert first.call.images[0].data == session.origin.data
    assert second.call.images[0].data == first.output.data
    assert third.call.images[0].data == second.output.data
    assert [s.result for s in session.history] == [first, second, third]
    assert session.current.data == third.output.data
    # defaults apply to every edit; an edit's own keyword wins for that edit
    assert first.call.params["quality"] == "low"
    assert third.call.params["quality"] == "medium"
    assert second.source is not None
    assert second.diff is not None
    assert _engine(client).billed_images == 3


async def test_a_session_starts_from_a_result_and_takes_references(make_client: Any) -> None:
    client = make_client.sandbox()
    made = await client.edit(_source(), "a plain poster", quality="low")
    session = client.client.session(made, quality="low")
    assert session.origin.data == made.output.data
    ref = png_bytes(SIZE, (250, 250, 0))
    edit = await _maybe(session.edit(EditRequest([ref], "use this yellow", mask=LEFT)))
    assert [im.data for im in edit.call.images] == [made.output.data, ref]
    assert edit.mask is not None


async def test_undo_checkout_and_branch_keep_every_paid_step(make_client: Any) -> None:
    client, session = _start(make_client)
    one, two, three = await _edits(session, "one", "two", "three")

    assert session.undo().result is two  # back one step: the next edit edits two's image
    assert session.current.data == two.output.data
    (four,) = await _edits(session, "four")
    assert four.call.images[0].data == two.output.data
    assert [s.number for s in session.history] == [1, 2, 4]
    assert [s.number for s in session.steps] == [1, 2, 3, 4]  # three is kept: it was paid for

    session.checkout(3)  # the current branch goes back to the undone step
    assert [s.number for s in session.history] == [1, 2, 3]
    assert session.branch("variant") == "variant"
    (five,) = await _edits(session, "five")
    assert five.call.images[0].data == three.output.data
    assert session.branches == {"main": 3, "variant": 5}
    # a branch's history runs from the source, through the steps it was branched from
    assert [s.number for s in session.history] == [1, 2, 3, 5]

    session.checkout("main")
    assert session.current.data == three.output.data
    session.checkout(0)
    assert session.current.data == session.origin.data
    assert session.history == ()
    assert session.branches["variant"] == 5  # moving main never moves another branch
    assert _engine(client).billed_images == 5  # undo, checkout and branch send nothing
    assert one.output.data != session.current.data


async def test_moving_to_what_does_not_exist_names_what_does(make_client: Any) -> None:
    _, session = _start(make_client)
    await _edits(session, "one")
    with pytest.raises(ValidationError, match=r"steps=2: .*allowed: 1\.\.1"):
        session.undo(2)
    with pytest.raises(ValidationError, match=r"target=7: no such step; allowed: a step 0\.\.1"):
        session.checkout(7)
    with pytest.raises(ValidationError, match=r"target='mian': no such branch.*main"):
        session.checkout("mian")
    with pytest.raises(ValidationError, match=r"for step 1, pass the number"):
        session.checkout("1")
    with pytest.raises(ValidationError, match="name='main'"):
        session.branch("main")
    assert session.branch() == "branch-1"


async def test_bad_input_is_refused_before_anything_is_sent(make_client: Any) -> None:
    client = make_client.sandbox()
    with pytest.raises(TypeError, match="did you mean 'quality'"):
        client.client.session(_source(), qualty="low")
    with pytest.raises(ValidationError, match="quality"):
        client.client.session(_source(), quality="ultra")
    with pytest.raises(imagewright.ImageInputError, match=r"source='missing\.png'"):
        client.client.session("missing.png")
    session = client.client.session(_source(), quality="low")
    with pytest.raises(TypeError, match="EditRequest and also mask"):
        await _maybe(session.edit(EditRequest([], "x"), mask=LEFT))
    with pytest.raises(ValidationError, match="size"):
        await _maybe(session.edit("x", size="13x7"))
    with pytest.raises(ValidationError, match="partial_images=2: a session's edits are not"):
        await _maybe(session.edit("x", partial_images=2))
    with pytest.raises(ValidationError, match="stream=True: a session's edits are not"):
        client.client.session(_source(), stream=True)  # a default no edit could use
    assert _engine(client).billed_images == 0
    assert session.steps == ()


async def test_an_async_session_runs_one_edit_at_a_time() -> None:
    async with imagewright.AsyncClient.sandbox(latency=0.05) as client:
        session = client.session(_source(), quality="low")
        outcomes = await asyncio.gather(
            session.edit("one", mask=LEFT), session.edit("two", mask=LEFT), return_exceptions=True
        )
    assert isinstance(outcomes[0], imagewright.Result)
    assert isinstance(outcomes[1], RuntimeError)
    assert "one edit at a time" in str(outcomes[1])
    assert len(session.steps) == 1


# ---- proof across steps ------------------------------------------------------------------------


async def test_drift_over_steps_is_reported_although_each_step_passed(make_client: Any) -> None:
    # Each edit leaks 0.3 % of the protected pixels (the limit is 0.5 %), new ones each time.
    _, session = _start(make_client, leakage=0.003)
    await _edits(session, "one", "two", "three")
    first, second, third = session.history

    assert all(s.preservation is not None and s.preservation.passed for s in session.history)
    assert first.since_source is not None
    assert first.since_source.passed
    assert third.since_source is not None
    assert not third.since_source.passed
    assert third.since_source.outside.changed_fraction > 0.005
    assert third.drifted
    assert second.drifted
    assert not first.drifted
    assert session.preservation is third.since_source
    assert "DRIFT" in session.summary()
    assert "since source: LEAKED" in session.summary()


async def test_without_leaks_the_area_protected_since_the_source_is_exact(
    make_client: Any,
) -> None:
    _, session = _start(make_client)
    await _edits(session, "left", mask=LEFT)
    await _edits(session, "right", mask=RIGHT)
    head = session.head
    # only what no step could touch is protected since the source: the bottom half
    union = head.editable_since_source
    assert union is not None
    assert union[:128].all()
    assert not union[128:].any()
    assert head.since_source is not None
    assert head.since_source.passed
    assert head.since_source.outside.changed_pixels == 0
    assert not head.drifted
    await _edits(session, "everything", mask=None)
    assert session.head.since_source is None  # a step without a mask protects nothing
    assert "nothing protected since the source" in session.summary()


# ---- replay ------------------------------------------------------------------------------------


async def _tree(session: Any) -> None:
    """main: 1 -> 2 -> 4 (and 5, undone); variant: 1 -> 2 -> 3."""
    await _edits(session, "one", "two")
    session.branch("variant")
    await _edits(session, "three", mask=RIGHT)
    session.checkout("main")
    await _edits(session, "four", "five")
    session.undo()


async def test_replay_resends_the_recorded_requests_on_the_new_images(make_client: Any) -> None:
    _, session = _start(make_client, leakage=0.002)
    await _tree(session)
    target = make_client.sandbox(leakage=0.002)

    again = await _maybe(session.replay(target.client))
    assert type(again) is type(session)
    assert _engine(target).billed_images == 3  # the current history only
    assert [s.instruction for s in again.history] == ["one", "two", "four"]
    for old, new in zip(session.history, again.history, strict=True):
        assert new.result.call.params == old.result.call.params
        assert new.result.call.mask.data == old.result.call.mask.data
    for parent, child in zip(again.history[:-1], again.history[1:], strict=True):
        assert child.result.call.images[0].data == parent.output.data
    # the sandbox is deterministic, so the replay makes the same images
    assert [s.output.data for s in again.history] == [s.output.data for s in session.history]
    assert again.current.data == session.current.data

    everything = await _maybe(session.replay(make_client.sandbox().client, all_branches=True))
    assert [s.instruction for s in everything.steps] == ["one", "two", "three", "four"]
    assert everything.branches == {"main": 4, "variant": 3}  # the undone "five" is skipped
    assert everything.branch_name == "main"


async def test_a_failed_replay_keeps_what_was_replayed(make_client: Any) -> None:
    _, session = _start(make_client)
    await _edits(session, "one", "two", "three")
    target = make_client.sandbox(faults=[None, "500"])
    with pytest.raises(ReplayError, match="replay stopped at step 2") as caught:
        await _maybe(session.replay(target.client.with_options(max_retries=0)))
    assert isinstance(caught.value.__cause__, InternalServerError)
    assert caught.value.step == 2
    kept = caught.value.session
    assert [s.instruction for s in kept.steps] == ["one"]
    assert kept.current.data == session.history[0].output.data
    assert _engine(target).billed_images == 1


async def test_replay_needs_a_client_of_its_own_kind(make_client: Any) -> None:
    _, session = _start(make_client)
    other = imagewright.Client if make_client.kind == "async" else imagewright.AsyncClient
    with pytest.raises(TypeError, match=r"replay\(\) needs a"):
        await _maybe(session.replay(other.sandbox()))


async def test_a_session_refuses_a_client_of_the_other_kind_before_sending(
    make_client: Any, tmp_path: Path
) -> None:
    client, session = _start(make_client)
    await _maybe(session.edit("one", mask=LEFT))
    folder = session.save(tmp_path / "work")
    other_kind = AsyncSession if make_client.kind == "sync" else Session
    billed = _engine(client).billed_images
    # An AsyncSession on a Client would pay for the edit, then fail to await it; a Session on
    # an AsyncClient would record a coroutine as a step.
    with pytest.raises(TypeError, match=r"client=.*needs an? (Async)?Client"):
        other_kind.load(folder, client=client.client)
    with pytest.raises(TypeError, match=r"client=.*needs an? (Async)?Client"):
        other_kind(client.client, _source())
    with pytest.raises(TypeError, match=r"client='x'"):
        type(session).load(folder, client="x")
    assert _engine(client).billed_images == billed


# ---- save and load -----------------------------------------------------------------------------


async def test_save_and_load_keep_the_tree_and_continue(make_client: Any, tmp_path: Path) -> None:
    client, session = _start(make_client, leakage=0.003)
    await _tree(session)
    folder = session.save(tmp_path / "work")
    cls = _session_class(make_client)

    loaded = cls.load(folder, client=client.client)
    assert isinstance(loaded, cls)
    assert loaded.branches == session.branches
    assert loaded.branch_name == "main"
    assert [s.number for s in loaded.steps] == [1, 2, 3, 4, 5]
    assert [s.parent_number for s in loaded.steps] == [0, 1, 2, 2, 4]
    assert [s.output.data for s in loaded.history] == [s.output.data for s in session.history]
    assert loaded.current.data == session.current.data
    assert [bool(s.since_source) for s in loaded.history] == [
        bool(s.since_source) for s in session.history
    ]
    assert loaded.cost_usd == pytest.approx(session.cost_usd)
    (more,) = await _edits(loaded, "six")
    assert more.call.images[0].data == session.current.data
    assert loaded.head.parent_number == 4

    # the other kind of session reads the same folder; without a client it only looks
    other = Session if cls is AsyncSession else AsyncSession
    viewer = other.load(folder)
    assert viewer.summary() == session.summary().replace(type(session).__name__, other.__name__)
    with pytest.raises(ConfigurationError, match=r"Session\.load\(folder, client=client\)"):
        await _maybe(viewer.edit("x"))


async def test_saving_again_adds_only_new_steps_and_never_mixes_sessions(
    make_client: Any, tmp_path: Path
) -> None:
    _, session = _start(make_client)
    await _edits(session, "one")
    folder = tmp_path / "work"
    session.save(folder)
    first_receipt = folder / "step-001" / "result.json"
    stamp = first_receipt.stat().st_mtime_ns
    await _edits(session, "two")
    session.save(folder)
    assert first_receipt.stat().st_mtime_ns == stamp  # unchanged steps are not rewritten
    assert len(json.loads((folder / "session.json").read_text())["steps"]) == 2

    _, other = _start(make_client)
    await _edits(other, "other")
    with pytest.raises(FileExistsError, match="holds another session"):
        other.save(folder)
    other.save(folder, overwrite=True)
    assert not (folder / "step-002").exists()  # what the replaced session wrote is removed
    assert Session.load(folder).history[0].instruction == "other"


async def test_save_to_keeps_every_step_as_it_is_made(make_client: Any, tmp_path: Path) -> None:
    client = make_client.sandbox()
    session = client.client.session(_source(), quality="low", save_to=tmp_path / "auto")
    for n, prompt in enumerate(["one", "two"], start=1):
        await _edits(session, prompt)
        assert len(Session.load(tmp_path / "auto").steps) == n


async def test_load_refuses_tampered_or_escaping_folders(make_client: Any, tmp_path: Path) -> None:
    _, session = _start(make_client)
    await _edits(session, "one", "two")
    folder = session.save(tmp_path / "work")
    manifest = json.loads((folder / "session.json").read_text())

    def write(change: dict[str, Any]) -> None:
        (folder / "session.json").write_text(json.dumps({**manifest, **change}))

    output = folder / "step-002" / "output-0.png"
    original = output.read_bytes()
    pixels = np.array(Image.open(folder / "step-002" / "output-0.png"))
    pixels[0, 0, 0] ^= 0xFF
    Image.fromarray(pixels).save(output)
    with pytest.raises(ValueError, match="sha256"):
        Session.load(folder)
    output.write_bytes(original)

    escaping = [{**manifest["steps"][0], "folder": "../work"}, manifest["steps"][1]]
    write({"steps": escaping})
    with pytest.raises(ValueError, match="unsafe step folder"):
        Session.load(folder)
    write({"source": {**manifest["source"], "file": "../../etc/passwd"}})
    with pytest.raises(ValueError, match="unsafe source file"):
        Session.load(folder)
    # two step folders swapped: each receipt is intact, but the chain is broken
    one, two = manifest["steps"]
    swapped = [
        {**one, "folder": two["folder"], "receipt_sha256": two["receipt_sha256"]},
        {**two, "folder": one["folder"], "receipt_sha256": one["receipt_sha256"]},
    ]
    write({"steps": swapped})
    with pytest.raises(ValueError, match="does not edit the image of step"):
        Session.load(folder)
    write({})
    assert len(Session.load(folder).steps) == 2


async def test_the_key_is_in_no_saved_file_or_display(make_client: Any, tmp_path: Path) -> None:
    key = "sk-session-secret-0123456789"
    with SandboxServer() as server:
        client = make_client(api_key=key, base_url=server.url)
        session = client.client.session(_source(), quality="low")
        await _edits(session, "one")
        folder = session.save(tmp_path / "work")
        await client.close()
    shown = [repr(session), session.summary(), session._repr_html_(), repr(session.head)]
    assert not any(key in text for text in shown)
    for path in folder.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


# ---- display -----------------------------------------------------------------------------------


async def test_the_filmstrip_shows_every_step_with_its_diff_and_cost(make_client: Any) -> None:
    _, session = _start(make_client, leakage=0.003)
    await _edits(session, "paint a red kite", "add a blue sun", "make it night")
    strip = session.filmstrip(height=64)
    # the source plus one column per step of the history, each an image over its diff
    assert strip.width >= 4 * 64
    assert strip.height > 2 * 64
    png = session._repr_png_()
    assert Image.open(io.BytesIO(png)).size[0] > 0
    page = session._repr_html_()
    for step in session.history:
        assert html.escape(repr(step.instruction)) in page
        assert f"cost ${step.cost_usd:.4f}" in page
    assert "DRIFT" in page
    lines = session.summary().splitlines()
    assert lines[0].startswith(f"{type(session).__name__} on branch 'main': 3 step(s)")
    assert sum(line.startswith("#") for line in lines) == 3
    session.undo(2)  # the filmstrip follows the history
    assert session.filmstrip(height=64).width < strip.width
    assert "add a blue sun" not in session._repr_html_()
