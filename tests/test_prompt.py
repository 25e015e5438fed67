"""Prompt: layered briefs compile to one deterministic text; templates and variants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagewright.edit import SupportsCompile
from imagewright.errors import ValidationError
from imagewright.models import get_model
from imagewright.prompt import Prompt, Text

PRODUCT_SHOT = """\
Subject: a glass bottle of cold-pressed olive oil with a paper label.
Scene: a white marble counter, soft grey wall behind.
Style: commercial product photograph.
Camera: 100 mm macro, eye level, shallow depth of field.
Lighting: soft window light from the left, gentle reflections.
Palette: olive green, cream, brushed brass.
Mood: fresh, premium.
Text to render exactly (letter for letter, nothing else):
- Label: "OLIVA", on the bottle label, centred; serif capitals, dark green.
Constraints (must hold):
- the whole bottle is in frame.
- the label faces the camera.
Avoid: hands; extra bottles; watermarks.
Notes: leave space above the bottle for a headline."""


def product_shot(**overrides: object) -> Prompt:
    fields: dict[str, object] = {
        "subject": "a glass bottle of cold-pressed olive oil with a paper label",
        "scene": "a white marble counter, soft grey wall behind",
        "style": "commercial product photograph",
        "camera": "100 mm macro, eye level, shallow depth of field",
        "lighting": "soft window light from the left, gentle reflections",
        "palette": "olive green, cream, brushed brass",
        "mood": "fresh, premium",
        "text": [
            Text(
                "OLIVA",
                role="label",
                placement="on the bottle label, centred",
                typography="serif capitals, dark green",
            )
        ],
        "constraints": ["the whole bottle is in frame", "the label faces the camera"],
        "avoid": ["hands", "extra bottles", "watermarks"],
        "notes": "leave space above the bottle for a headline",
    }
    fields.update(overrides)
    return Prompt(**fields)  # type: ignore[arg-type]


def test_product_shot_compiles_to_the_exact_text() -> None:
    assert product_shot().compile(model="gpt-image-2") == PRODUCT_SHOT


def test_section_order_does_not_depend_on_argument_order() -> None:
    a = Prompt(mood="calm", subject="a lake", lighting="dawn", avoid=["boats"])
    b = Prompt(avoid=("boats",), lighting="dawn", subject="a lake", mood="calm")
    assert a == b
    assert (
        a.compile()
        == b.compile()
        == ("Subject: a lake.\nLighting: dawn.\nMood: calm.\nAvoid: boats.")
    )


@given(
    st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "{" not in s and "}" not in s)
)
def test_literal_text_is_quoted_verbatim(text: str) -> None:
    compiled = Prompt(text=[Text(text, role="headline")]).compile()
    assert f'Headline: "{text}"' in compiled


def test_plain_strings_become_text_elements() -> None:
    assert Prompt(text="SALE").compile() == (
        'Text to render exactly (letter for letter, nothing else):\n- Text: "SALE".'
    )
    assert Prompt(text=["A", Text("B", role="cta")]).texts == (Text("A"), Text("B", role="cta"))


def test_edit_instruction_and_preserve_compile_to_a_keep_unchanged_clause() -> None:
    p = Prompt.edit(
        "replace the overcast sky with a clear sunset",
        preserve=["identity", "framing", "lighting", "text", "the red umbrella"],
    )
    assert p.compile() == (
        "Edit: replace the overcast sky with a clear sunset.\n"
        "Keep unchanged: the identity, face and features of every person; the framing, crop "
        "and camera angle; the lighting, shadows and colour temperature; any text already in "
        "the image, letter for letter; the red umbrella. Change nothing else."
    )


def test_template_fills_every_field_including_text_elements() -> None:
    t = Prompt(
        subject="{product} on a marble table",
        text=[Text("{brand}", role="label", placement="on the {product}")],
        avoid=["other {product}s"],
    )
    assert t.variables == ("brand", "product")
    filled = t.format(product="watch", brand="TEMPO")
    assert filled.compile() == (
        "Subject: watch on a marble table.\n"
        "Text to render exactly (letter for letter, nothing else):\n"
        '- Label: "TEMPO", on the watch.\n'
        "Avoid: other watchs."
    )
    assert t.variables == ("brand", "product")  # the template itself is unchanged


def test_template_refuses_unknown_and_missing_variables_all_at_once() -> None:
    t = Prompt(subject="{product} on {surface}")
    with pytest.raises(ValidationError) as info:
        t.format(product="a watch", colour="red")
    assert info.value.params == ["colour", "surface"]
    assert "not a variable of this template" in str(info.value)
    assert "allowed: product, surface" in str(info.value)
    assert "has no value" in str(info.value)


def test_compiling_an_unfilled_template_is_an_error() -> None:
    with pytest.raises(ValidationError, match=r"\{product\}"):
        Prompt(subject="{product}").compile()


def test_literal_braces_survive_and_values_with_braces_are_not_reparsed() -> None:
    t = Prompt(subject="a sign reading {{open}} next to {thing}")
    assert t.variables == ("thing",)
    assert (
        t.format(thing="a {lamp}").compile() == "Subject: a sign reading {open} next to a {lamp}."
    )


def test_attribute_placeholders_are_refused() -> None:
    with pytest.raises(ValidationError, match="not a plain name"):
        _ = Prompt(subject="{obj.attr}").variables


def test_variants_grid_over_fields_and_variables_in_stable_order() -> None:
    t = Prompt(subject="{fruit} in a bowl", style="still life")
    grid = t.variants(fruit=["pears", "figs"], lighting=["dawn", "noon", "dusk"])
    assert len(grid) == 6
    assert [(p.subject, p.lighting) for p in grid] == [
        ("pears in a bowl", "dawn"),
        ("pears in a bowl", "noon"),
        ("pears in a bowl", "dusk"),
        ("figs in a bowl", "dawn"),
        ("figs in a bowl", "noon"),
        ("figs in a bowl", "dusk"),
    ]
    assert all(p.style == "still life" for p in grid)
    assert grid == t.variants(fruit=["pears", "figs"], lighting=["dawn", "noon", "dusk"])


def test_variants_can_leave_variables_for_later() -> None:
    t = Prompt(subject="{fruit} on {surface}")
    grid = t.variants(fruit=["pears"])
    assert grid[0].variables == ("surface",)
    assert grid[0].format(surface="slate").subject == "pears on slate"


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ({"colour": ["red"]}, "neither a Prompt field nor a template variable"),
        ({"style": []}, "no alternatives given"),
        ({"style": "watercolour"}, "no alternatives given"),
    ],
)
def test_bad_variant_axes(axes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Prompt(subject="x").variants(**axes)  # type: ignore[arg-type]


def test_prompt_length_is_checked_against_the_models_limit() -> None:
    limit = get_model("gpt-image-2").max_prompt_chars
    long = Prompt(subject="x" * limit)
    with pytest.raises(ValidationError) as info:
        long.compile(model="gpt-image-2")
    problem = info.value.problems[0]
    assert problem.param == "prompt"
    assert problem.model == "gpt-image-2"
    assert f"{limit + len('Subject: .'):,} characters" in problem.message
    assert f"{limit:,}" in problem.message
    assert len(Prompt(subject="x" * (limit - 20)).compile(model="gpt-image-2")) <= limit


def test_empty_prompt_is_an_error() -> None:
    with pytest.raises(ValidationError, match="empty"):
        Prompt().compile()


def test_prompt_satisfies_the_client_contract() -> None:
    p = Prompt(subject="a cat")
    assert isinstance(p, SupportsCompile)
    assert p.planned_size("gpt-image-2") is None
