"""Conversations on the sandbox: multi-turn state, undo, replay, moderation, streams, budgets,
save/load; on both clients."""

from __future__ import annotations

import inspect
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import imagewright
from imagewright import (
    APIConnectionError,
    BudgetExceededError,
    ContentPolicyError,
    Conversation,
    EditRequest,
    ImageOptions,
    Mask,
    PartialImage,
    TurnResult,
    ValidationError,
)
from imagewright.sandbox import SandboxServer

from .conftest import png_bytes

LOW = ImageOptions(quality="low", size="1024x1024")


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def _send(conv: Any, *args: Any, **kwargs: Any) -> TurnResult:
    result: TurnResult = await _maybe(conv.send(*args, **kwargs))
    return result


async def _stream(conv: Any, *args: Any, **kwargs: Any) -> list[Any]:
    return await _drain(conv.stream(*args, **kwargs))


async def _drain(it: Any) -> list[Any]:
    if hasattr(it, "__aiter__"):
        return [ev async for ev in it]
    return list(it)


def _conv(client: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("image", LOW)
    return client.client.conversation("gpt-5", **kwargs)


async def test_three_turns_chain_sources_ids_and_costs(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client)
    first = await _send(conv, 'A shop front with a sign that says "OPEN"')
    second = await _send(conv, "Now make the sign red")
    third = await _send(conv, "Add a cat in the window")

    assert [t.response_id for t in conv.history] == [
        first.response_id,
        second.response_id,
        third.response_id,
    ]
    assert "previous_response_id" not in first.call.params
    assert second.call.params["previous_response_id"] == first.response_id
    assert third.call.params["previous_response_id"] == second.response_id
    # Each turn's source is the previous turn's image, so its diff is against it.
    assert first.kind == "generate"
    assert first.source is None
    assert second.kind == "edit"
    assert second.call.images[0].data == first.output.data
    assert third.call.images[0].data == second.output.data
    assert third.diff is not None
    assert third.diff.changed_fraction > 0
    for turn in conv.history:
        assert turn.item_id is not None
        assert turn.item_id.startswith("ig_")
        assert turn.item_id in turn.output_item_ids
        assert turn.revised_prompt == turn.prompt_text
        assert "not a language model" in turn.text
        # The image tool's tokens price the image; the text model's are kept apart.
        assert turn.usage is not None
        assert turn.usage.output_tokens >= 196
        assert turn.cost is not None
        assert turn.cost.image_output_usd > 0
        assert turn.text_usage is not None
        assert turn.text_usage.output_tokens > 0
        assert turn.text_model == "gpt-5"
    assert client.client.sandbox_engine.billed_images == 3
    await client.close()


async def test_undo_continues_from_the_earlier_response(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client)
    first = await _send(conv, "a red fox in snow")
    second = await _send(conv, "make it night")
    assert conv.undo() is first
    assert conv.history == (first,)
    again = await _send(conv, "make it sunny")
    assert again.call.params["previous_response_id"] == first.response_id
    assert again.call.images[0].data == first.output.data
    assert second.response_id not in [t.response_id for t in conv.history]
    with pytest.raises(ValidationError) as err:
        conv.undo(5)
    assert err.value.params == ["steps"]
    await client.close()


async def test_store_false_replays_each_image_call_with_its_reasoning(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client, store=False)
    await _send(conv, "a lighthouse")
    await _send(conv, "make the light green")
    third = await _send(conv, "add fog")
    body = third.call.params
    assert body["store"] is False
    assert body["include"] == ["reasoning.encrypted_content"]
    assert "previous_response_id" not in body
    kinds = [item.get("type", item.get("role")) for item in body["input"]]
    assert kinds == ["user", "reasoning", "image_generation_call", "message"] * 2 + ["user"]
    for i, item in enumerate(body["input"]):
        if item.get("type") == "image_generation_call":
            assert body["input"][i - 1]["type"] == "reasoning"
            assert body["input"][i - 1]["encrypted_content"]
            assert set(item) == {"type", "id", "status", "result"}
    # Replayed without its reasoning item, the API (and the sandbox) refuse the call.
    broken = [i for i in body["input"] if i.get("type") != "reasoning"]
    bad = replace(third.call, params={**body, "input": broken})
    with pytest.raises(imagewright.BadRequestError, match="reasoning"):
        await _maybe(client.client.send(bad))
    await client.close()


async def test_moderation_block_raises_with_categories_and_stage(make_client: Any) -> None:
    client = make_client.sandbox(faults=[None, "moderation"])
    conv = _conv(client)
    first = await _send(conv, "a market street")
    with pytest.raises(ContentPolicyError) as err:
        await _send(conv, "something the policy blocks")
    assert err.value.code == "moderation_blocked"
    assert err.value.categories == ["sandbox-cue"]
    assert err.value.moderation_stage == "input"
    assert conv.history == (first,)  # the blocked turn is not part of the conversation
    assert client.client.sandbox_engine.billed_images == 1
    await client.close()


async def test_stream_yields_partials_then_exactly_one_result(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client)
    await _send(conv, "a boat")
    events = await _stream(conv, "make the sea stormy", partial_images=2)
    assert [type(e) for e in events] == [PartialImage, PartialImage, TurnResult]
    result = events[-1]
    assert [p.index for p in result.partial_images] == [0, 1]
    assert conv.head is result
    assert result.call.params["stream"] is True
    await client.close()


async def test_stream_that_ends_early_raises_and_keeps_paid_partials(make_client: Any) -> None:
    client = make_client.sandbox(faults=["truncate"])
    conv = _conv(client)
    got: list[Any] = []

    async def consume() -> None:
        it = conv.stream("a kite", partial_images=2)
        if hasattr(it, "__aiter__"):
            async for ev in it:
                got.append(ev)
        else:
            got.extend(it)

    with pytest.raises((APIConnectionError, imagewright.APIResponseValidationError)) as err:
        await consume()
    assert len(got) == 2
    assert all(isinstance(p, PartialImage) for p in got)
    assert [p.index for p in err.value.partial_images] == [0, 1]
    assert conv.history == ()
    await client.close()


async def test_budget_refuses_before_sending_and_records_turn_costs(make_client: Any) -> None:
    client = make_client.sandbox()
    budget = imagewright.Budget(0.05)
    client.client.budget = budget
    conv = _conv(client)
    turn = await _send(conv, "a teapot")
    assert turn.cost is not None
    assert budget.spent_usd == pytest.approx(turn.cost.total_usd)
    before = client.client.sandbox_engine.requests
    with pytest.raises(BudgetExceededError):
        await _send(conv, "a teapot in 4K detail", quality="high", size="3840x2160")
    assert client.client.sandbox_engine.requests == before  # nothing was sent
    await client.close()


async def test_mask_gives_preservation_and_input_images_are_sent(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client, image=ImageOptions(quality="low"))
    photo = png_bytes((512, 512), (40, 90, 160))
    mask = Mask.box((512, 512), (100, 100, 300, 300))
    turn = await _send(conv, EditRequest(photo, "put a red box here", mask=mask))
    content = turn.call.params["input"][-1]["content"]
    assert [c["type"] for c in content] == ["input_text", "input_image"]
    assert content[1]["image_url"].startswith("data:image/png;base64,")
    assert turn.call.params["tools"][0]["input_image_mask"]["image_url"].startswith("data:")
    assert turn.preservation is not None
    assert turn.preservation.passed
    assert turn.call.images[0].data == photo
    await client.close()


async def test_tool_rules_are_checked_before_sending(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client)
    with pytest.raises(ValidationError) as err:
        await _send(conv, "x", n=2)
    assert err.value.params == ["n"]
    with pytest.raises(ValidationError) as err:
        await _send(conv, EditRequest(png_bytes(), "x", markup=png_bytes(mode="RGBA", color=0)))
    assert "markup" in err.value.params
    with pytest.raises(ValidationError) as err:
        await _send(conv, "x", action="edit")
    assert err.value.params == ["action"]
    with pytest.raises(ValidationError) as err:
        await _send(conv, "x", mask=Mask.box((64, 48), (0, 0, 10, 10)))
    assert err.value.params == ["mask"]
    with pytest.raises(ValidationError) as err:
        await _send(conv, "x", model="gpt-image-2", input_fidelity="high")
    assert err.value.params == ["input_fidelity"]
    with pytest.raises(ValidationError) as err:
        conv.stream("x", output_format="gif", partial_images=2, output_compression=50)
    assert set(err.value.params) == {"partial_images", "output_compression"}
    with pytest.raises(ValidationError) as err:
        await _send(conv, "x", partial_images=1)
    assert "conv.stream" in str(err.value)
    assert client.client.sandbox_engine.requests == 0
    await client.close()


async def test_server_side_conversation_id(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client, conversation="conv_test123")
    await _send(conv, "a bicycle")
    second = await _send(conv, "paint it yellow")
    assert second.call.params["conversation"] == "conv_test123"
    assert "previous_response_id" not in second.call.params
    assert second.kind == "edit"
    assert second.conversation_id == "conv_test123"
    with pytest.raises(ValidationError):
        conv.undo()
    await client.close()


async def test_save_and_load_round_trip_checked(make_client: Any, tmp_path: Path) -> None:
    client = make_client.sandbox()
    conv = _conv(client)
    await _send(conv, "a garden")
    await _send(conv, "add a bench")
    folder = conv.save(tmp_path / "conv")
    loaded = type(conv).load(client.client, folder)
    assert [t.response_id for t in loaded.history] == [t.response_id for t in conv.history]
    assert loaded.history[-1].output.data == conv.history[-1].output.data
    assert loaded.history[-1].output_items == conv.history[-1].output_items
    assert loaded.history[-1].text_usage == conv.history[-1].text_usage
    nxt = await _send(loaded, "add a fountain")
    assert nxt.call.params["previous_response_id"] == conv.history[-1].response_id
    manifest = json.loads((folder / "conversation.json").read_text())
    assert "result" not in json.dumps(manifest["turns"][0]["output_items"][1]["result"])
    (folder / "turn-000" / "result.json").write_text("{}")
    with pytest.raises(ValueError, match="sha256"):
        type(conv).load(client.client, folder)
    await client.close()


def test_notebook_display_and_repr() -> None:
    with imagewright.Client.sandbox() as client:
        conv = client.conversation("gpt-5", image=LOW)
        conv.send('a sign that says "<b>HI</b>"')
        conv.send("make it blue")
        page = conv._repr_html_()
        assert page.count("<img") == 2
        assert "&lt;b&gt;" in page
        assert conv._repr_png_().startswith(b"\x89PNG")
        assert conv.filmstrip(height=64).height == 84
        assert "turns=2" in repr(conv)
        assert "previous_response_id" in repr(conv)


def test_real_server_and_key_never_leaks(tmp_path: Path) -> None:
    key = "sk-live-SECRET-conversation-key"
    with SandboxServer(api_key=key) as server, imagewright.Client(key, base_url=server.url) as c:
        conv = c.conversation("gpt-5", image=LOW)
        conv.send("a red door")
        turn = conv.send("make it green")
        folder = conv.save(tmp_path / "saved")
    assert isinstance(conv, Conversation)
    texts = [repr(conv), repr(turn), repr(turn.call), turn.summary(), conv._repr_html_()]
    texts += [p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file()]
    assert not any(key in t for t in texts)


async def test_retries_share_one_idempotency_key_and_bill_once(make_client: Any) -> None:
    client = make_client.sandbox(faults=["429", None], retry_after=0.01)
    conv = _conv(client)
    turn = await _send(conv, "a windmill")
    assert turn.timings.attempts == 2
    engine = client.client.sandbox_engine
    keys = {r.idempotency_key for r in engine.history}
    assert len(keys) == 1
    assert engine.billed_images == 1
    await client.close()


async def test_ambiguous_failure_is_not_retried_unless_asked(make_client: Any) -> None:
    client = make_client.sandbox(faults=["reset_after", "reset_after", None])
    conv = _conv(client)
    with pytest.raises(APIConnectionError) as err:
        await _send(conv, "a windmill")
    assert err.value.may_have_been_billed
    assert conv.history == ()
    # With retry_ambiguous the same key is sent again: the sandbox replays the paid answer.
    turn = await _send(conv, "a windmill", retry_ambiguous=True)
    engine = client.client.sandbox_engine
    assert turn.timings.attempts == 2
    assert engine.replays == 1
    assert engine.billed_images == 2  # the first abandoned call, and this one, once
    await client.close()


async def test_layout_turn_is_planned_and_finished(make_client: Any) -> None:
    from imagewright.layout import Layout

    client = make_client.sandbox()
    conv = _conv(client, image=ImageOptions(quality="low", model="gpt-image-2"))
    layout = Layout.poster(
        "Jazz", subhead="Fridays", image="a trio", text="overlay", size="11x17in@100dpi"
    )
    poster = await _send(conv, layout)
    assert poster.call.params["tools"][0]["size"] == "1104x1712"  # the planner's API size
    assert poster.output.size == (1100, 1700)  # cropped to the deliverable locally
    assert poster.output.raw is not None
    nxt = await _send(conv, "make it night")
    # The next turn continues from the API's own image, as the server does.
    assert nxt.call.images[0].data == poster.output.raw
    await client.close()


def test_with_params_is_refused_for_a_turn() -> None:
    call = imagewright.Client("k").conversation("gpt-5").compile("a fox")
    with pytest.raises(TypeError, match="compile"):
        call.with_params(quality="high")


def test_plain_mistakes_get_plain_errors() -> None:
    with imagewright.Client.sandbox() as client:
        with pytest.raises(ValidationError) as err:
            client.conversation("")
        assert err.value.params == ["model"]
        conv = client.conversation("gpt-5")
        with pytest.raises(TypeError, match="did you mean 'quality'"):
            conv.send("a fox", qualty="low")
        assert client.sandbox_engine.requests == 0
        turn = conv.send("a fox on a red sofa")
        text = turn.summary()
        assert turn.response_id is not None
        assert turn.response_id in text
        assert "text model gpt-5" in text
        assert "<img" in turn._repr_html_()


async def test_one_turn_at_a_time() -> None:
    import asyncio

    async with imagewright.AsyncClient.sandbox(latency=0.05) as client:
        conv = client.conversation("gpt-5", image=LOW)
        done = await asyncio.gather(conv.send("a"), conv.send("b"), return_exceptions=True)
        assert sum(isinstance(d, TurnResult) for d in done) == 1
        assert sum(isinstance(d, RuntimeError) for d in done) == 1
        assert len(conv.history) == 1
        assert client.sandbox_engine.requests == 1


async def test_a_stream_made_before_another_turn_refuses_to_start(make_client: Any) -> None:
    client = make_client.sandbox()
    conv = _conv(client)
    await _send(conv, "a house")
    stale = conv.stream("paint it red")
    await _send(conv, "add a tree")
    with pytest.raises(RuntimeError, match="moved on"):
        await _drain(stale)
    assert client.client.sandbox_engine.requests == 2  # the stale stream sent nothing
    fresh = await _stream(conv, "paint it red")
    assert isinstance(fresh[-1], TurnResult)
    await client.close()
