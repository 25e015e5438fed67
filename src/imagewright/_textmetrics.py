"""Text metrics as OCR benchmarks define them: edit distance, CER, NED, word accuracy.

Pure functions on strings, no OCR. The definitions (cited in ``docs/text.md``):

* **edit distance**: Levenshtein distance, counting insertions, deletions and substitutions of
  single characters (Unicode code points, so one CJK character is one character).
* **CER** (character error rate): ``distance(found, expected) / len(expected)``; 0 is perfect,
  and it can exceed 1 when much more text was read than expected.
* **NED** as CVTG-2K and the TextCrafter / Qwen-Image reports print it: the normalised edit
  *similarity* ``1 - distance(a, b) / max(len(a), len(b))``; 1 is perfect, 0 nothing in common.
* **word accuracy** (CVTG-2K): the share of the expected words that the OCR read exactly, each
  word read counting once (a multiset intersection).

Examples:
    >>> from imagewright.text import cer, edit_distance, ned
    >>> edit_distance("kitten", "sitting")
    3
    >>> cer("HELL0", "HELLO"), ned("HELL0", "HELLO")
    (0.2, 0.8)
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Normalization",
    "cer",
    "edit_distance",
    "ned",
    "substring_distance",
    "word_accuracy",
    "words",
]

_PUNCT = set(string.punctuation) | {"“", "”", "‘", "’", "«", "»", "–", "—", "…", "·"}
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between ``a`` and ``b`` (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def substring_distance(expected: str, text: str) -> tuple[int, int, int]:
    """The smallest edit distance between ``expected`` and any substring of ``text``.

    Returns:
        ``(distance, start, end)``: ``text[start:end]`` is the closest substring.
    """
    if not expected:
        return 0, 0, 0
    # Semi-global alignment: free start and end in ``text``; track where each path started.
    prev = [(0, j) for j in range(len(text) + 1)]
    for i, ce in enumerate(expected, 1):
        cur = [(i, 0)]
        for j, ct in enumerate(text, 1):
            options = (
                (prev[j - 1][0] + (ce != ct), prev[j - 1][1]),
                (prev[j][0] + 1, prev[j][1]),
                (cur[j - 1][0] + 1, cur[j - 1][1]),
            )
            cur.append(min(options))
        prev = cur
    end = min(range(len(prev)), key=lambda j: (prev[j][0], -j))
    dist, start = prev[end]
    return dist, start, end


def cer(found: str, expected: str) -> float:
    """Character error rate of ``found`` against ``expected``: edits / expected length.

    An empty ``expected`` gives 0.0 when nothing was found and 1.0 otherwise.
    """
    if not expected:
        return 0.0 if not found else 1.0
    return edit_distance(found, expected) / len(expected)


def ned(found: str, expected: str) -> float:
    """Normalised edit similarity, CVTG-2K's NED: ``1 - distance / max(len)``; 1 is perfect.

    Two empty strings are identical (1.0).
    """
    longest = max(len(found), len(expected))
    if longest == 0:
        return 1.0
    return 1.0 - edit_distance(found, expected) / longest


def words(text: str) -> list[str]:
    """The words of ``text``: split on whitespace, and every CJK character is a word."""
    out: list[str] = []
    for token in text.split():
        if _CJK.search(token):
            out += [part for part in _CJK.split(token) if part]
            out += _CJK.findall(token)
        else:
            out.append(token)
    return out


def word_accuracy(found: Iterable[str], expected: Sequence[str]) -> float:
    """CVTG-2K word accuracy: the share of ``expected`` words present in ``found`` (multiset).

    With no expected word the accuracy is 1.0 (nothing could be missed).
    """
    if not expected:
        return 1.0
    available = Counter(found)
    hits = 0
    for word in expected:
        if available[word] > 0:
            available[word] -= 1
            hits += 1
    return hits / len(expected)


@dataclass(frozen=True)
class Normalization:
    """How strings are compared: the rules applied to both the expected and the read text.

    Attributes:
        case: ``"ignore"`` (default) compares case-folded text; ``"exact"`` checks the case of
            every letter (a headline in capitals, a brand name).
        whitespace: ``"ignore"`` (default) removes whitespace: OCR engines often drop or add
            spaces, and line breaks chosen by the model do not count. ``"collapse"`` turns any
            run of spaces and line breaks into one space (checks the spacing of words);
            ``"exact"`` keeps it as read. CVTG-2K's word accuracy and NED are always computed
            on words (whitespace collapsed), whatever this says.
        punctuation: ``"ignore"`` (default) removes ASCII and common typographic punctuation,
            which OCR often drops or invents; ``"exact"`` keeps it.

    Examples:
        >>> Normalization().apply("  Grand   OPENING! ")
        'grandopening'
        >>> Normalization(whitespace="collapse").apply("  Grand   OPENING! ")
        'grand opening'
        >>> Normalization(case="exact", punctuation="exact", whitespace="collapse").apply("Grand OPENING!")
        'Grand OPENING!'
    """

    case: Literal["ignore", "exact"] = "ignore"
    whitespace: Literal["ignore", "collapse", "exact"] = "ignore"
    punctuation: Literal["ignore", "exact"] = "ignore"

    def problems(self) -> list[tuple[str, str, str]]:
        """``(param, value, allowed)`` for every setting that is not one of its choices."""
        out = []
        for name, allowed in (
            ("case", ("ignore", "exact")),
            ("whitespace", ("ignore", "collapse", "exact")),
            ("punctuation", ("ignore", "exact")),
        ):
            value = getattr(self, name)
            if value not in allowed:
                out.append((name, value, ", ".join(allowed)))
        return out

    def apply(self, text: str) -> str:
        """``text`` normalised by these rules (Unicode NFKC first, always)."""
        text = unicodedata.normalize("NFKC", text)
        if self.case == "ignore":
            text = text.casefold()
        if self.punctuation == "ignore":
            text = "".join(ch for ch in text if ch not in _PUNCT)
        if self.whitespace == "collapse":
            text = " ".join(text.split())
        elif self.whitespace == "ignore":
            text = "".join(text.split())
        return text
