"""The progress bar of ``map``: done, failed, in flight and cost so far (tqdm, notebook-aware)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._map_engine import Engine

__all__ = ["Progress"]

EVERY_S = 0.5  # how often the bar is redrawn between outcomes


class Progress:
    """A tqdm bar fed by the engine; does nothing when disabled (tqdm is not even imported)."""

    def __init__(self, engine: Engine, total: int | None, *, enabled: bool) -> None:
        self.engine = engine
        self.flying = 0
        self.bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="req", desc="imagewright map", dynamic_ncols=True)

    def in_flight(self, change: int) -> None:
        """A request started (+1) or ended (-1)."""
        self.flying += change

    async def ticking(self) -> None:
        """Redraw the bar every ``EVERY_S`` while the run lasts: its counts and elapsed time
        stay current between outcomes (a first image can take a minute)."""
        while self.bar is not None:
            await asyncio.sleep(EVERY_S)
            self._counts(refresh=True)

    def done(self, outcome: object) -> None:
        """One more outcome: advance and refresh the counts."""
        if self.bar is None:
            return
        self._counts(refresh=False)
        self.bar.update(1)
        del outcome  # the bar keeps no outcome

    def _counts(self, *, refresh: bool) -> None:
        e = self.engine
        self.bar.set_postfix(
            ok=e.succeeded + e.reused,
            failed=e.failed + e.ambiguous + len(e.not_sent),
            in_flight=self.flying,
            cost=f"${e.cost_usd:.2f}",
            refresh=refresh,
        )

    def close(self) -> None:
        """Close the bar (prints its final line)."""
        if self.bar is not None:
            self.bar.close()
