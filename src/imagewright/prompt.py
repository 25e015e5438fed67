"""``Prompt``: a production brief as layered fields, compiled into one clear prompt.

A long hand-written prompt drifts: the subject gets buried, the text to render loses its quotes,
the constraints read like suggestions. A :class:`Prompt` keeps each layer in its own field and
:meth:`Prompt.compile` writes them in a fixed order, literal text in quotes with its role and
placement, constraints stated as constraints. The same object always compiles to the same text.

Any string field may be a template (``"{product} on a marble table"``); :meth:`Prompt.format`
fills it, refusing unknown or missing variables, and :meth:`Prompt.variants` builds a grid.

Examples:
    >>> from imagewright.prompt import Prompt, Text
    >>> p = Prompt(subject="a glass bottle of olive oil", lighting="soft window light",
    ...            text=[Text("OLIVA", role="label", placement="on the bottle")])
    >>> print(p.compile())
    Subject: a glass bottle of olive oil.
    Lighting: soft window light.
    Text to render exactly (letter for letter, nothing else):
    - Label: "OLIVA", on the bottle.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import Problem, ValidationError
from .models import MAX_PROMPT_CHARS, lookup

__all__ = ["PRESERVE_PHRASES", "Prompt", "Text", "check_length", "role_title"]


PRESERVE_PHRASES: dict[str, str] = {
    "identity": "the identity, face and features of every person",
    "face": "the face and facial features",
    "pose": "the pose and body position",
    "framing": "the framing, crop and camera angle",
    "composition": "the composition and the position of every element",
    "lighting": "the lighting, shadows and colour temperature",
    "colors": "the colours",
    "colours": "the colours",
    "palette": "the colour palette",
    "background": "the background",
    "text": "any text already in the image, letter for letter",
    "logo": "the logo, exactly as it is",
    "style": "the rendering style",
    "product": "the product's shape, colour and label",
}
"""Short words accepted in ``preserve=[...]`` and the clause each one becomes. Other strings
are used as written."""

# (field, heading) in the order the compiled prompt uses.
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("subject", "Subject"),
    ("scene", "Scene"),
    ("style", "Style"),
    ("medium", "Medium"),
    ("composition", "Composition"),
    ("camera", "Camera"),
    ("lighting", "Lighting"),
    ("palette", "Palette"),
    ("mood", "Mood"),
)
_FORMATTER = string.Formatter()
_ROLE_NAMES = {"cta": "Call to action", "subhead": "Subheading", "text": "Text"}


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", '"', ")")) else text + "."


@dataclass(frozen=True)
class Text:
    """One literal string the image must show.

    Attributes:
        text: The exact characters to render.
        role: What the text is: ``headline``, ``subhead``, ``body``, ``cta``, ``label``...
        placement: Where it goes, in words (``"top third, centred"``).
        typography: How it looks (``"bold condensed sans-serif, white"``).
    """

    text: str
    role: str = "text"
    placement: str | None = None
    typography: str | None = None

    def describe(self) -> str:
        """One line for the prompt: role, the quoted text, placement and typography."""
        line = f'{role_title(self.role)}: "{self.text}"'
        extra = [" ".join(s.split()).rstrip(".") for s in (self.placement, self.typography) if s]
        return f"{line}, {'; '.join(extra)}." if extra else f"{line}."


def role_title(role: str) -> str:
    """A role as a capitalised title for the prompt (``"cta"`` -> ``"Call to action"``)."""
    words = " ".join(role.replace("-", " ").replace("_", " ").split())
    return _ROLE_NAMES.get(words, words[:1].upper() + words[1:])


def _tuple(value: object, name: str) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, Text)):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    raise ValidationError(Problem(name, value, "expected a string or a list of strings"))


@dataclass(frozen=True)
class Prompt:
    """A layered brief that compiles to one clear prompt.

    Every field is optional; empty fields are left out. Any string may contain ``{variables}``
    filled by :meth:`format`.

    Attributes:
        subject: What the image is of.
        scene: Setting and background.
        style: Visual style (``"editorial photograph"``, ``"flat vector illustration"``).
        medium: Medium or technique (``"35 mm film"``, ``"gouache"``).
        composition: Arrangement of the frame.
        camera: Camera, lens and framing (``"85 mm, eye level, shallow depth of field"``).
        lighting: Light sources and quality.
        palette: Colours.
        mood: Feeling or atmosphere.
        text: Literal strings to render, as :class:`Text` or plain strings.
        constraints: Things that must hold ("must" statements).
        avoid: Things that must not appear.
        notes: Free extra direction, added last.
        instruction: For edits: the change to make.
        preserve: For edits: what must stay unchanged (see :data:`PRESERVE_PHRASES`).

    Examples:
        >>> Prompt(instruction="replace the sky with a sunset",
        ...        preserve=["identity", "framing"]).compile()
        'Edit: replace the sky with a sunset.\\nKeep unchanged: the identity, face and features of every person; the framing, crop and camera angle. Change nothing else.'
    """

    subject: str | None = None
    scene: str | None = None
    style: str | None = None
    medium: str | None = None
    composition: str | None = None
    camera: str | None = None
    lighting: str | None = None
    palette: str | None = None
    mood: str | None = None
    text: Sequence[Text | str] = field(default=())
    constraints: Sequence[str] = field(default=())
    avoid: Sequence[str] = field(default=())
    notes: str | None = None
    instruction: str | None = None
    preserve: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        for name in ("text", "constraints", "avoid", "preserve"):
            object.__setattr__(self, name, _tuple(getattr(self, name), name))
        texts = tuple(t if isinstance(t, Text) else Text(str(t)) for t in self.text)
        object.__setattr__(self, "text", texts)

    @property
    def texts(self) -> tuple[Text, ...]:
        """The literal texts, each as a :class:`Text`."""
        return tuple(t if isinstance(t, Text) else Text(t) for t in self.text)

    @classmethod
    def edit(cls, instruction: str, *, preserve: Sequence[str] = (), **layers: Any) -> Prompt:
        """An edit prompt: the change, and what must stay unchanged.

        Examples:
            >>> Prompt.edit("make the jacket red", preserve=["identity", "lighting"]).instruction
            'make the jacket red'
        """
        return cls(instruction=instruction, preserve=preserve, **layers)

    # -- templates ---------------------------------------------------------------------------

    def _strings(self) -> Iterable[tuple[str, str]]:
        """Every string in the prompt as ``(path, value)``, templates included."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                yield f.name, value
            elif isinstance(value, tuple):
                for i, item in enumerate(value):
                    if isinstance(item, Text):
                        for sub in ("text", "placement", "typography"):
                            s = getattr(item, sub)
                            if s is not None:
                                yield f"{f.name}[{i}].{sub}", s
                    else:
                        yield f"{f.name}[{i}]", item

    @property
    def variables(self) -> tuple[str, ...]:
        """The template variables used anywhere in the prompt, sorted."""
        names: set[str] = set()
        for path, value in self._strings():
            names.update(_placeholders(value, path))
        return tuple(sorted(names))

    def format(self, **values: object) -> Prompt:
        """A copy with every ``{variable}`` filled in.

        Raises:
            ValidationError: A value names no variable of the template, or a variable has no
                value; all of them are listed.

        Examples:
            >>> Prompt(subject="{product} on a marble table").format(product="a watch").subject
            'a watch on a marble table'
        """
        wanted = set(self.variables)
        problems = [
            Problem(
                name,
                values[name],
                "not a variable of this template",
                allowed=", ".join(sorted(wanted)) or "no variables",
            )
            for name in sorted(set(values) - wanted)
        ]
        problems += [
            Problem(name, None, "template variable has no value", allowed="pass it to format()")
            for name in sorted(wanted - set(values))
        ]
        if problems:
            raise ValidationError(problems)
        return self._map(lambda s: _fill(s, values))

    def _map(self, fn: Any) -> Prompt:
        changes: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                changes[f.name] = fn(value)
            elif isinstance(value, tuple):
                changes[f.name] = tuple(
                    replace(
                        v,
                        text=fn(v.text),
                        placement=None if v.placement is None else fn(v.placement),
                        typography=None if v.typography is None else fn(v.typography),
                    )
                    if isinstance(v, Text)
                    else fn(v)
                    for v in value
                )
        return replace(self, **changes)

    def variants(self, **axes: Sequence[object]) -> list[Prompt]:
        """One prompt per combination of the given alternatives (a grid), in a stable order.

        Each keyword is either a field (``style=[...]``) whose values replace it, or a template
        variable (``product=[...]``) whose values fill it. The last keyword varies fastest.

        Raises:
            ValidationError: A keyword is neither a field nor a variable, or has no values.

        Examples:
            >>> grid = Prompt(subject="{fruit}").variants(fruit=["a pear", "a fig"],
            ...                                          lighting=["dawn", "noon"])
            >>> [(p.subject, p.lighting) for p in grid][:2]
            [('a pear', 'dawn'), ('a pear', 'noon')]
        """
        names = {f.name for f in fields(self)}
        variables = set(self.variables)
        problems = [
            Problem(
                key,
                list(vals) if isinstance(vals, Iterable) else vals,
                "no alternatives given"
                if key in names | variables
                else "neither a Prompt field nor a template variable",
                allowed=", ".join(sorted(names | variables)),
            )
            for key, vals in axes.items()
            if key not in names | variables
            or isinstance(vals, str)
            or not isinstance(vals, Iterable)
            or not list(vals)
        ]
        if problems:
            raise ValidationError(problems)
        keys = list(axes)
        out: list[Prompt] = []
        for combo in itertools.product(*(list(axes[k]) for k in keys)):
            chosen: dict[str, Any] = dict(zip(keys, combo, strict=True))
            fill = {k: v for k, v in chosen.items() if k in variables}
            base = replace(self, **{k: v for k, v in chosen.items() if k in names})
            out.append(base._map(lambda s, fill=fill: _fill(s, fill)))
        return out

    # -- compiling ---------------------------------------------------------------------------

    def sections(
        self,
        *,
        preamble: Sequence[str] = (),
        layout: Sequence[str] = (),
        extra_constraints: Sequence[str] = (),
        extra_avoid: Sequence[str] = (),
    ) -> list[str]:
        """The compiled paragraphs in their fixed order; a :class:`Layout` adds its own.

        Args:
            preamble: Lines before everything else (the format of the piece).
            layout: Lines after the visual layers, before the text to render.
            extra_constraints: More "must" statements, after the prompt's own.
            extra_avoid: More things to avoid, after the prompt's own.

        Raises:
            ValidationError: Template variables are still unfilled.
        """
        unfilled = self.variables
        if unfilled:
            raise ValidationError(
                Problem(
                    "prompt",
                    ", ".join("{" + v + "}" for v in unfilled),
                    "template variables are not filled",
                    allowed="call .format(...) first",
                )
            )
        return self._map(_literal)._paragraphs(preamble, layout, extra_constraints, extra_avoid)

    def _paragraphs(
        self,
        preamble: Sequence[str],
        layout: Sequence[str],
        extra_constraints: Sequence[str],
        extra_avoid: Sequence[str],
    ) -> list[str]:
        out: list[str] = list(preamble)
        if self.instruction:
            out.append(f"Edit: {_sentence(self.instruction)}")
        for name, heading in _SECTIONS:
            value = getattr(self, name)
            if value:
                out.append(f"{heading}: {_sentence(value)}")
        if layout:
            out.append("\n".join(layout))
        texts = self.texts
        if texts:
            lines = ["Text to render exactly (letter for letter, nothing else):"]
            lines += [f"- {t.describe()}" for t in texts]
            out.append("\n".join(lines))
        constraints = [*self.constraints, *extra_constraints]
        if constraints:
            lines = ["Constraints (must hold):"] + [f"- {_sentence(c)}" for c in constraints]
            out.append("\n".join(lines))
        avoid = [" ".join(a.split()).rstrip(".") for a in (*self.avoid, *extra_avoid)]
        if avoid:
            out.append(f"Avoid: {'; '.join(avoid)}.")
        if self.notes:
            out.append(f"Notes: {_sentence(self.notes)}")
        if self.preserve:
            kept = "; ".join(
                PRESERVE_PHRASES.get(p.strip().lower(), " ".join(p.split()).rstrip("."))
                for p in self.preserve
            )
            out.append(f"Keep unchanged: {kept}. Change nothing else.")
        return out

    def compile(self, *, model: str | None = None) -> str:
        """The prompt text: each layer in a fixed order, text quoted, constraints as constraints.

        Args:
            model: Checks the length against this model's prompt limit.

        Raises:
            ValidationError: Template variables are still unfilled, the prompt is empty, or it
                is longer than the model accepts.
        """
        return check_length("\n".join(self.sections()), model)

    def planned_size(self, model: str) -> str | None:
        """A plain prompt does not choose a size (the client's default applies)."""
        return None


def check_length(text: str, model: str | None) -> str:
    """Return ``text`` when it is non-empty and within the model's prompt limit; raise otherwise."""
    if not text.strip():
        raise ValidationError(Problem("prompt", text, "the compiled prompt is empty"))
    spec = lookup(model) if model else None
    limit = spec.max_prompt_chars if spec is not None else MAX_PROMPT_CHARS
    if len(text) > limit:
        raise ValidationError(
            Problem(
                "prompt",
                f"{len(text):,} characters",
                f"the compiled prompt is {len(text):,} characters, over the limit of {limit:,}",
                allowed=f"at most {limit:,} characters",
                model=model,
            )
        )
    return text


def _placeholders(value: str, path: str) -> list[str]:
    try:
        parsed = list(_FORMATTER.parse(value))
    except ValueError as exc:
        raise ValidationError(
            Problem(
                path, value, f"not a valid template ({exc})", allowed="use {{ and }} for braces"
            )
        ) from exc
    names: list[str] = []
    for _literal, name, _spec, _conv in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValidationError(
                Problem(
                    path,
                    value,
                    f"template variable {{{name}}} is not a plain name",
                    allowed="{name} placeholders; write {{ and }} for literal braces",
                )
            )
        names.append(name)
    return names


def _fill(value: str, values: Mapping[str, object]) -> str:
    """Fill the named variables; the result is still a template (braces stay escaped)."""
    out: list[str] = []
    for literal, name, spec, conv in _FORMATTER.parse(value):
        out.append(_escape(literal))
        if name is None:
            continue
        if name not in values:
            # Kept for a later format() call, exactly as written.
            suffix = (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            out.append("{" + name + suffix + "}")
            continue
        item = values[name]
        if conv:
            item = _FORMATTER.convert_field(item, conv)
        out.append(_escape(format(item, spec or "")))
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _literal(value: str) -> str:
    """The final text of a template without variables: ``{{`` becomes ``{``."""
    return "".join(literal for literal, _n, _s, _c in _FORMATTER.parse(value))
