"""``SessionStep``: one edit of a session, and its proof against the session's source.

Machinery for :mod:`imagewright.session` (re-exported there and at the package root).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .diff import Diff, Preservation
    from .results import OutputImage, Result

__all__ = ["SessionStep"]


@dataclass(frozen=True, eq=False)
class SessionStep:
    """One edit of a session: its result, the step it edited, and its proof since the source.

    Attributes:
        number: 1, 2, 3... in the order the steps were made (0 stands for the source).
        result: The edit's :class:`~imagewright.Result`; its source is the parent's image.
        parent: The step this one edited, or ``None`` when it edited the session's source.
        branch: The branch the step was made on.
        origin: The session's source image, which :attr:`since_source` compares with.
    """

    number: int
    result: Result
    parent: SessionStep | None = field(repr=False)
    branch: str
    origin: OutputImage = field(repr=False)

    @property
    def output(self) -> OutputImage:
        """The image this step made (the edit's first output)."""
        return self.result.output

    @property
    def instruction(self) -> str:
        """The prompt text as sent."""
        return self.result.prompt_text

    @property
    def parent_number(self) -> int:
        """The parent's number, 0 for the source."""
        return self.parent.number if self.parent is not None else 0

    def lineage(self) -> tuple[SessionStep, ...]:
        """The steps from the source to this one, oldest first (this one last)."""
        line: list[SessionStep] = []
        step: SessionStep | None = self
        while step is not None:
            line.append(step)
            step = step.parent
        return tuple(reversed(line))

    @property
    def preservation(self) -> Preservation | None:
        """This edit's own verdict on its protected area, against the image it edited
        (``None`` without a mask)."""
        return self.result.preservation

    @cached_property
    def editable_since_source(self) -> npt.NDArray[np.bool_] | None:
        """Every pixel some step up to this one was allowed to change (the union of their
        editable areas, at this step's output size); ``None`` when a step had no mask (or used
        markup), which made the whole image editable."""

        from .masks import editable_pixels as editable

        # Walk up to the nearest step that knows its union (each step adds its own mask once;
        # iterative, so a long session does not recurse), then fill in the steps below it.
        name = "editable_since_source"
        pending: list[SessionStep] = []
        step: SessionStep | None = self
        while step is not None and name not in step.__dict__:
            pending.append(step)
            step = step.parent
        union: npt.NDArray[np.bool_] | None = None if step is None else step.__dict__[name]
        everything = step is not None and union is None
        for below in reversed(pending):
            mask = below.result.mask
            everything = everything or mask is None
            if not everything:
                own = editable(mask, below.output.size)
                union = own if union is None else own | editable(union, below.output.size)
            below.__dict__[name] = None if everything else union
        known: npt.NDArray[np.bool_] | None = self.__dict__[name]
        return known

    @cached_property
    def drift(self) -> Diff:
        """This step's image against the session's source, split by
        :attr:`editable_since_source` (outside it is what every step promised to keep)."""
        from .diff import compute_diff

        if self.parent is None and self.result.diff is not None and self.result.mask is not None:
            return self.result.diff  # the first step's own diff is already against the source
        return compute_diff(self.origin.image, self.output.image, self.editable_since_source)

    @property
    def since_source(self) -> Preservation | None:
        """The verdict on the area no step so far was allowed to change, against the original
        source; ``None`` when nothing stayed protected (a step without a mask)."""
        return self.drift.preservation

    @property
    def drifted(self) -> bool:
        """True when every step up to here passed its own check, yet the area protected since
        the source changed too much: small leaks that added up."""
        since = self.since_source
        if since is None or since.passed:
            return False
        return all(s.preservation is None or s.preservation.passed for s in self.lineage())

    @property
    def cost_usd(self) -> float:
        """What this edit cost (0 when the API reported no usage)."""
        cost = self.result.cost
        return cost.total_usd if cost is not None else 0.0

    def __repr__(self) -> str:
        text = self.instruction if len(self.instruction) <= 40 else self.instruction[:37] + "..."
        return (
            f"SessionStep(#{self.number}, parent=#{self.parent_number}, branch={self.branch!r}, "
            f"{text!r}, ${self.cost_usd:.4f})"
        )
