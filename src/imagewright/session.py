"""Iterative editing: one image refined over many edits, with history, undo, branches and replay.

``client.session(source)`` starts a :class:`Session` (``AsyncSession`` on an ``AsyncClient``).
Each :meth:`Session.edit` edits the *current* image (the last output, or the source) and
returns the edit's :class:`~imagewright.Result`; the session keeps every step it ever made, as a
tree:

- ``history`` is the line that led to the current image: the steps from the source to the
  head of the current branch, following each step's parent (so a branch's history includes
  the steps it was branched from, as ``git log`` does);
- ``undo()`` and ``checkout(step)`` move the current branch's head; ``branch(name)`` starts a
  parallel line from the current image. Nothing is deleted: every step was paid for, and
  ``steps`` lists them all;
- each step proves itself twice: ``step.preservation`` judges the edit against the image it
  edited, ``step.since_source`` judges the area protected by *every* step so far against the
  original source, so a protected area that drifted a little at each step is reported even
  when each step alone passed (``step.drifted``);
- ``replay(client)`` re-sends the recorded requests (GPT Image has no seed: the record is the
  reproducibility), each on the replayed image of its parent; ``save(dir)`` and
  ``Session.load(dir)`` keep every step's receipt and images, tamper-checked by sha256.

Sync and async sessions share everything in :class:`BaseSession`; they differ only in
:meth:`~Session.edit` and :meth:`~Session.replay`, the two methods that send.

Examples:
    >>> import imagewright
    >>> from imagewright import Mask
    >>> with imagewright.Client.sandbox() as client:
    ...     session = client.session(Mask.full((256, 256)).to_white_editable(), quality="low")
    ...     first = session.edit("paint a red kite", mask=Mask.box((256, 256), (0, 0, 0.5, 0.5)))
    ...     second = session.edit("add a blue sun", mask=Mask.box((256, 256), (0.5, 0, 1, 0.5)))
    >>> len(session.history), second.source is not None, session.head.since_source.passed
    (2, True, True)
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._session_step import SessionStep
from .edit import EditRequest, PromptLike
from .errors import ConfigurationError, Problem, ReplayError, ValidationError
from .images import ImageSource, load_image
from .results import OutputImage, Result

if TYPE_CHECKING:
    from PIL import Image
    from typing_extensions import Self

    from .calls import ApiCall
    from .client import AsyncClient, Client
    from .diff import Preservation
    from .masks import Editable

__all__ = ["AsyncSession", "BaseSession", "ReplayError", "Session", "SessionStep"]

MAIN = "main"
"""The branch every session starts on."""


class BaseSession:
    """What both sessions share: the step tree, branches, proof, save/load and display.

    Args:
        client: The client that sends every edit (``None`` for a session loaded to look at).
        source: The image to start from: a path, bytes, a PIL image, an array, or a
            :class:`~imagewright.Result` (its first output).
        model: The model of every edit unless an edit names one.
        save_to: A folder the session is saved to after every step (see :meth:`save`).
        **options: Default options of every edit (``quality``, ``size``...); an edit's own
            keywords override them.

    Raises:
        ImageInputError: The source cannot be sent.
        ValidationError: An option would be refused (nothing was sent).
        TypeError: An option name is unknown.
    """

    def __init__(
        self,
        client: Any,
        source: ImageSource | Result,
        *,
        model: str | None = None,
        save_to: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> None:
        if isinstance(source, Result):
            source = source.output.data
        encoded = load_image(source, param="source")
        self.client = client
        self.model = model
        """The model of every edit unless an edit names one (else the client's default)."""
        self.options: dict[str, Any] = dict(options)
        """Default options of every edit."""
        self.origin = OutputImage(encoded.data, encoded.format)
        """The source, as the first edit sends it."""
        self.session_id = uuid.uuid4().hex
        """Names this session in its saved folder, so a save never mixes two sessions."""
        self.save_to = Path(save_to) if save_to is not None else None
        """Where the session is saved after every step (``None``: only when you call save)."""
        self._steps: list[SessionStep] = []
        self._branches: dict[str, SessionStep | None] = {MAIN: None}
        self._branch = MAIN
        self._busy = False
        if client is not None:
            self._check_client(client)
            # Every option is checked now, before the first edit is paid for.
            from .client import _split

            self._options(model, {})  # stream defaults no edit could use
            body, _ = _split(self.options)
            client.compile_edit(EditRequest(encoded.data, "check"), model=model, **body)

    @classmethod
    def _client_class(cls) -> type[Any]:
        from .client import BaseClient

        return BaseClient

    def _check_client(self, client: object) -> None:
        """A session sends on a client of its own kind: an ``AsyncSession`` on a ``Client``
        would pay for an edit and then fail to await it."""
        wanted = self._client_class()
        if isinstance(client, wanted):
            return
        from .client import BaseClient

        shown = repr(client) if isinstance(client, str) else type(client).__name__
        article = "an" if wanted.__name__[0] in "AEIOU" else "a"
        hint = "client.session(source) makes one"
        if isinstance(client, BaseClient):
            other = "Session" if isinstance(self, AsyncSession) else "AsyncSession"
            hint = f"for this client use {other} ({hint} of the right kind)"
        raise TypeError(
            f"client={shown}: {article} {type(self).__name__} needs {article} "
            f"{wanted.__name__}; {hint}"
        )

    # ---- state ---------------------------------------------------------------------------

    @property
    def head(self) -> SessionStep | None:
        """The step the current image comes from (``None`` at the source)."""
        return self._branches[self._branch]

    @property
    def current(self) -> OutputImage:
        """The image now: the head's output, or the source; what the next edit edits."""
        head = self.head
        return head.output if head is not None else self.origin

    @property
    def history(self) -> tuple[SessionStep, ...]:
        """The steps that led to the current image, oldest first: from the source to the
        current branch's head, following each step's parent. Undone steps and other branches'
        own steps are not in it (they are in :attr:`steps`)."""
        head = self.head
        return head.lineage() if head is not None else ()

    @property
    def steps(self) -> tuple[SessionStep, ...]:
        """Every step ever made, in order, undone ones and all branches' included."""
        return tuple(self._steps)

    @property
    def branch_name(self) -> str:
        """The current branch."""
        return self._branch

    @property
    def branches(self) -> dict[str, int]:
        """Each branch and the number of the step at its head (0 = still at the source)."""
        return {name: s.number if s is not None else 0 for name, s in self._branches.items()}

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the current image (what a mask for the next edit must fit)."""
        return self.current.size

    @property
    def preservation(self) -> Preservation | None:
        """The verdict since the source at the head (see :attr:`SessionStep.since_source`)."""
        head = self.head
        return head.since_source if head is not None else None

    @property
    def cost_usd(self) -> float:
        """What every step made so far cost, undone ones included (they were paid for)."""
        return sum(s.cost_usd for s in self._steps)

    # ---- moving around -------------------------------------------------------------------

    def undo(self, steps: int = 1) -> SessionStep | None:
        """Step back ``steps`` edits on the current branch; returns the new head (``None`` at
        the source). The undone steps stay in :attr:`steps`, and ``checkout`` can return to them.

        Raises:
            ValidationError: ``steps`` is not between 1 and the length of the history.
        """
        line = self.history
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= len(line):
            allowed = f"1..{len(line)}" if line else "nothing: the session is at its source"
            raise ValidationError(Problem("steps", steps, "cannot undo that many steps", allowed))
        self._branches[self._branch] = line[-steps - 1] if steps < len(line) else None
        return self.head

    def checkout(self, target: int | str | SessionStep) -> SessionStep | None:
        """Go to a branch (by name), or move the current branch to a step (by number or the
        step itself; 0 is the source). Returns the new head; the next edit edits its image.

        Raises:
            ValidationError: No such branch or step.
        """
        if isinstance(target, str):
            if target not in self._branches:
                hint = f" (for step {target}, pass the number)" if target.isdigit() else ""
                raise ValidationError(
                    Problem("target", target, f"no such branch{hint}", self._targets())
                )
            self._branch = target
            return self.head
        self._branches[self._branch] = self._step(target)
        return self.head

    def branch(self, name: str | None = None) -> str:
        """Start a branch at the current image and switch to it; returns its name
        (``branch-1``, ``branch-2``... when none is given). The branch it left keeps its head.

        Raises:
            ValidationError: The name is empty or already taken.
        """
        if name is None:
            k = 1
            while f"branch-{k}" in self._branches:
                k += 1
            name = f"branch-{k}"
        if not isinstance(name, str) or not name.strip() or name in self._branches:
            raise ValidationError(
                Problem(
                    "name",
                    name,
                    "a branch needs a new, non-empty name",
                    f"any name but {', '.join(self._branches)}",
                )
            )
        self._branches[name] = self.head
        self._branch = name
        return name

    def _step(self, target: int | SessionStep) -> SessionStep | None:
        if isinstance(target, SessionStep):
            if target.number < 1 or target.number > len(self._steps):
                raise ValidationError(Problem("target", target, "not a step of this session"))
            if self._steps[target.number - 1] is not target:
                raise ValidationError(Problem("target", target, "not a step of this session"))
            return target
        if isinstance(target, bool) or not isinstance(target, int):
            raise ValidationError(
                Problem("target", target, "not a step or a branch", self._targets())
            )
        if not 0 <= target <= len(self._steps):
            raise ValidationError(Problem("target", target, "no such step", self._targets()))
        return self._steps[target - 1] if target else None

    def _targets(self) -> str:
        return f"a step 0..{len(self._steps)} (0 = the source), or a branch: " + ", ".join(
            self._branches
        )

    # ---- editing (the pure half) -----------------------------------------------------------

    def _request(
        self,
        prompt: PromptLike | EditRequest,
        mask: Any,
        markup: ImageSource | None,
        editable: Editable | None,
        references: Sequence[ImageSource] | None,
    ) -> EditRequest:
        """The edit of the current image: an ``EditRequest``'s images are extra references
        sent after it, as are ``references``."""
        refs = list(references or ())
        if isinstance(prompt, EditRequest):
            pairs = (("mask", mask), ("markup", markup), ("editable", editable))
            given = [name for name, value in pairs if value is not None]
            if given:
                raise TypeError(
                    f"session.edit() got an EditRequest and also {', '.join(given)}: put them "
                    "in the EditRequest, or pass the instruction as text"
                )
            req = prompt
            refs = req.image_list + refs
            prompt, mask, markup, editable = req.prompt, req.mask, req.markup, req.editable
        current = self.current.data
        images: ImageSource | list[ImageSource] = [current, *refs] if refs else current
        return EditRequest(images, prompt, mask=mask, markup=markup, editable=editable)

    def _options(self, model: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        if self.client is None:
            raise ConfigurationError(
                "this session has no client (it was loaded to look at): load it with "
                "Session.load(folder, client=client) to keep editing"
            )
        merged = {**self.options, **options, "model": model or self.model}
        streamed = [k for k in ("stream", "partial_images") if merged.get(k)]
        if streamed:
            raise ValidationError(
                Problem(
                    streamed[0],
                    merged[streamed[0]],
                    "a session's edits are not streamed",
                    "no stream options (for previews, client.stream_edit(session.current.data, "
                    "...))",
                )
            )
        return merged

    @contextmanager
    def _editing(self) -> Iterator[None]:
        """One edit at a time: each edit edits the image the last one made."""
        if self._busy:
            raise RuntimeError(
                "a session makes one edit at a time (each edits the last one's image); finish "
                "the edit in flight first, or start another session for parallel variations"
            )
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    def _record(self, result: Result) -> Result:
        step = SessionStep(
            number=len(self._steps) + 1,
            result=result,
            parent=self.head,
            branch=self._branch,
            origin=self.origin,
        )
        self._steps.append(step)
        self._branches[self._branch] = step
        if self.save_to is not None:
            self.save(self.save_to)
        return result

    # ---- replay (the pure half) -------------------------------------------------------------

    def _replay_plan(self, all_branches: bool) -> list[SessionStep]:
        """The steps to re-send, parents first: the current history, or with ``all_branches``
        every step some branch's head descends from (undone dead ends are skipped)."""
        heads = list(self._branches.values()) if all_branches else [self.head]
        wanted = {s.number for h in heads if h is not None for s in h.lineage()}
        return [s for s in self._steps if s.number in wanted]

    def _new_for_replay(self, client: Any) -> Self:
        new = type(self).__new__(type(self))
        BaseSession.__init__(new, client, self.origin.data, model=self.model, **self.options)
        return new

    def _rebased(self, step: SessionStep, replayed: Mapping[int, SessionStep]) -> ApiCall:
        """``step``'s recorded call, sending the replayed parent's image instead of the old one."""
        parent = replayed[step.parent_number] if step.parent is not None else None
        call = step.result.call
        edited = parent.output if parent is not None else self.origin
        image = load_image(edited.data, filename=call.images[0].filename)
        mask = call.mask
        if mask is not None and mask.size != image.size:
            from .masks import Mask

            mask = Mask.from_alpha(mask).resize(image.size).to_openai(image.size)
        return dataclasses.replace(call, images=(image, *call.images[1:]), mask=mask)

    def _replayed(
        self,
        step: SessionStep,
        result: Result,
        replayed: dict[int, SessionStep],
        branch: str,
    ) -> None:
        """Record ``result`` as the replay of ``step``, on ``branch``, after its parent's replay."""
        self._branch = branch
        self._branches[branch] = replayed[step.parent_number] if step.parent is not None else None
        self._record(result)
        replayed[step.number] = self._steps[-1]

    def _end_replay(
        self, old: BaseSession, replayed: Mapping[int, SessionStep], all_branches: bool
    ) -> None:
        if all_branches:
            for name, head in old._branches.items():
                self._branches[name] = replayed[head.number] if head is not None else None
            self._branch = old._branch
        else:
            self._branches = {MAIN: None, old._branch: self._steps[-1] if self._steps else None}
            self._branch = old._branch

    def _check_replay_client(self, client: Any, wanted: type[Any], hint: str) -> None:
        if not isinstance(client, wanted):
            raise TypeError(
                f"{type(self).__name__}.replay() needs a {wanted.__name__}, got "
                f"{type(client).__name__}; {hint}"
            )

    # ---- save / load -----------------------------------------------------------------------

    def save(
        self,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        pictures: bool | None = None,
    ) -> Path:
        """Write the session to ``directory``: ``session.json`` (the tree, branches and the
        sha256 of every file it names), the source, and one result folder per step
        (``step-001``...), as :meth:`Result.save` writes it. Nothing is pickled.

        Saving again to the same folder adds only what changed. A folder holding another
        session (or a result) is refused unless ``overwrite=True``, which replaces it and
        removes only the step folders that session wrote.

        Raises:
            FileExistsError: The folder holds another session or a result.
        """
        from ._session_store import save_session

        return save_session(self, Path(directory), overwrite=overwrite, pictures=pictures)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], client: Any = None) -> Self:
        """Read a folder written by :meth:`save`, ready to continue on ``client`` (without
        one, the session can be looked at and replayed, not edited).

        Raises:
            FileNotFoundError: The folder or a file it names is missing.
            IntegrityError: A file does not match its sha256 (a ``ValueError``).
            ValueError: A name would leave the folder, or the steps do not chain (a step
                does not edit its parent's image).
        """
        from ._session_store import load_session

        session = cls.__new__(cls)
        load_session(session, Path(directory), client)
        return session

    # ---- display ---------------------------------------------------------------------------

    def summary(self) -> str:
        """Plain-text lines for a terminal: one per step of the history with its cost, its own
        verdict and the verdict since the source, then a drift line when leaks added up."""
        from ._session_display import summary_lines

        return "\n".join(summary_lines(self))

    def filmstrip(self, *, height: int = 160) -> Image.Image:
        """The source, then every step of the history: its image over its diff, captioned with
        its instruction, cost and verdicts (leaked steps and drift in red)."""
        from ._session_display import filmstrip

        return filmstrip(self, height=height)

    def _repr_png_(self) -> bytes:
        from ._display import png_bytes

        return png_bytes(self.filmstrip())

    def _repr_html_(self) -> str:
        from ._session_display import to_html

        return to_html(self)

    def __repr__(self) -> str:
        w, h = self.current.size
        return (
            f"{type(self).__name__}(branch={self._branch!r}, head=#{self.branches[self._branch]}, "
            f"history={len(self.history)}, steps={len(self._steps)}, "
            f"branches={len(self._branches)}, current={w}x{h}, spent=${self.cost_usd:.4f})"
        )


class Session(BaseSession):
    """An iterative editing session on a :class:`~imagewright.Client` (see the module doc).

    Make one with :meth:`Client.session`. Each :meth:`edit` is one paid call.
    """

    client: Client | None

    @classmethod
    def _client_class(cls) -> type[Any]:
        from .client import Client

        return Client

    def edit(
        self,
        prompt: PromptLike | EditRequest,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        references: Sequence[ImageSource] | None = None,
        model: str | None = None,
        **options: Any,
    ) -> Result:
        """Edit the current image and return the edit's :class:`~imagewright.Result`.

        Args:
            prompt: What to change (text, ``Prompt``, ``Layout``), or an ``EditRequest``
                whose images are sent as references after the current image.
            mask: Where the edit may happen, as in :class:`~imagewright.EditRequest` (it
                must fit :attr:`size`).
            markup: A markup overlay for the current image (2.5 models).
            editable: How to read a mask given as an image.
            references: More input images, sent after the current one.
            model: This edit's model (else the session's, else the client's default).
            **options: Body and transport options for this edit; they override the
                session's defaults.

        Raises:
            ValidationError: The edit would be refused; nothing was sent.
            APIError: The call failed; the session is unchanged.
        """
        with self._editing():
            request = self._request(prompt, mask, markup, editable, references)
            options = self._options(model, options)
            assert self.client is not None
            return self._record(self.client.edit(request, **options))

    def replay(self, client: Client, *, all_branches: bool = False) -> Session:
        """Re-send the recorded requests on ``client`` and return the new session.

        Each step sends exactly its recorded call (prompt, mask, references, options, model),
        with the replayed parent's image in place of the one it edited then. By default the
        current history is replayed; ``all_branches=True`` replays every branch (steps undone
        and left behind are skipped).

        Raises:
            ReplayError: A step failed; ``.session`` keeps the steps replayed before it.
        """
        from .client import Client

        self._check_replay_client(client, Client, "replay an AsyncSession with await")
        new = self._new_for_replay(client)
        replayed: dict[int, SessionStep] = {}
        for step in self._replay_plan(all_branches):
            try:
                result = client.send(new._rebased(step, replayed))
            except Exception as exc:
                raise ReplayError(new, step.number, exc) from exc
            new._replayed(step, result, replayed, step.branch if all_branches else self._branch)
        new._end_replay(self, replayed, all_branches)
        return new


class AsyncSession(BaseSession):
    """An iterative editing session on an :class:`~imagewright.AsyncClient`: the same API as
    :class:`Session`, with ``await`` on :meth:`edit` and :meth:`replay`."""

    client: AsyncClient | None

    @classmethod
    def _client_class(cls) -> type[Any]:
        from .client import AsyncClient

        return AsyncClient

    async def edit(
        self,
        prompt: PromptLike | EditRequest,
        *,
        mask: Any = None,
        markup: ImageSource | None = None,
        editable: Editable | None = None,
        references: Sequence[ImageSource] | None = None,
        model: str | None = None,
        **options: Any,
    ) -> Result:
        """Edit the current image and return the edit's Result (see :meth:`Session.edit`)."""
        with self._editing():
            request = self._request(prompt, mask, markup, editable, references)
            options = self._options(model, options)
            assert self.client is not None
            return self._record(await self.client.edit(request, **options))

    async def replay(self, client: AsyncClient, *, all_branches: bool = False) -> AsyncSession:
        """Re-send the recorded requests on ``client`` (see :meth:`Session.replay`)."""
        from .client import AsyncClient

        self._check_replay_client(client, AsyncClient, "replay a Session without await")
        new = self._new_for_replay(client)
        replayed: dict[int, SessionStep] = {}
        for step in self._replay_plan(all_branches):
            try:
                result = await client.send(new._rebased(step, replayed))
            except Exception as exc:
                raise ReplayError(new, step.number, exc) from exc
            new._replayed(step, result, replayed, step.branch if all_branches else self._branch)
        new._end_replay(self, replayed, all_branches)
        return new
