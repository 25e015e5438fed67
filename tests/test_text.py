"""Text verification: metrics by hand, matching with a scripted engine, and OCR on the sandbox."""

from __future__ import annotations

import sys

import pytest
from PIL import Image

from imagewright import ValidationError
from imagewright._textmetrics import substring_distance
from imagewright.text import (
    ExpectedText,
    Normalization,
    OcrLine,
    cer,
    check_image,
    edit_distance,
    ned,
    word_accuracy,
    words,
)

# ---- metrics, computed by hand ------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("HELLO", "HELLO", 0),
        ("HELLO", "HELO", 1),  # one deletion
        ("HELLO", "HELLLO", 1),  # one insertion
        ("HELLO", "JELLO", 1),  # one substitution
        ("SALE", "SLAE", 2),  # a swap is two substitutions (no transpositions)
        ("kitten", "sitting", 3),  # k->s, e->i, +g
        ("", "", 0),
        ("", "ABC", 3),
        ("ABC", "", 3),
        ("你好世界", "你好世界", 0),
        ("你好世界", "你坏世界", 1),  # one CJK character is one character
        ("你好", "你好吗", 1),
    ],
)
def test_edit_distance_counts_insertions_deletions_substitutions(
    a: str, b: str, distance: int
) -> None:
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


def test_cer_and_ned_hand_computed() -> None:
    # CER divides by the expected length; NED (CVTG-2K) is 1 - d / max(len).
    assert cer("HELO", "HELLO") == pytest.approx(1 / 5)
    assert ned("HELO", "HELLO") == pytest.approx(1 - 1 / 5)
    assert cer("HELLLLO", "HELLO") == pytest.approx(2 / 5)
    assert ned("HELLLLO", "HELLO") == pytest.approx(1 - 2 / 7)
    assert cer("", "HELLO") == 1.0
    assert ned("", "HELLO") == 0.0
    # Much more text than expected: CER goes above 1, NED stays within 0..1.
    assert cer("ABCDEFGH", "AB") == pytest.approx(6 / 2)
    assert ned("ABCDEFGH", "AB") == pytest.approx(2 / 8)
    # Empty cases are defined, not a ZeroDivisionError.
    assert cer("", "") == 0.0
    assert cer("X", "") == 1.0
    assert ned("", "") == 1.0
    assert cer("你坏世界", "你好世界") == pytest.approx(0.25)


def test_word_accuracy_is_a_multiset_share_of_expected_words() -> None:
    assert word_accuracy(["grand", "opening"], ["grand", "opening"]) == 1.0
    assert word_accuracy(["grand", "opeming"], ["grand", "opening"]) == 0.5
    # A word read once covers one expected occurrence only.
    assert word_accuracy(["la"], ["la", "la", "land"]) == pytest.approx(1 / 3)
    assert word_accuracy(["a", "b"], []) == 1.0
    assert word_accuracy([], ["a"]) == 0.0


def test_words_split_cjk_into_characters() -> None:
    assert words("grand opening") == ["grand", "opening"]
    assert sorted(words("你好 world")) == sorted(["你", "好", "world"])


def test_substring_distance_finds_the_closest_substring() -> None:
    assert substring_distance("世界", "你好世界欢迎") == (0, 2, 4)
    d, start, end = substring_distance("OPEN", "XXOPFNXX")
    assert (d, "XXOPFNXX"[start:end]) == (1, "OPFN")


def test_normalization_defaults_and_exact_rules() -> None:
    default = Normalization()
    assert default.apply("  Grand\n OPENING!! ") == "grandopening"
    collapse = Normalization(whitespace="collapse")
    assert collapse.apply("  Grand\n OPENING!! ") == "grand opening"
    assert collapse.apply("“Don’t” stop—") == "dont stop"
    exact = Normalization(case="exact", whitespace="exact", punctuation="exact")
    assert exact.apply("Grand  OPENING!") == "Grand  OPENING!"


# ---- matching, with a scripted engine (no OCR) -----------------------------------------------


class Scripted:
    """Reads fixed lines; records the size of every picture it was asked to read."""

    name = "scripted"

    def __init__(self, lines: list[OcrLine], box_lines: list[OcrLine] | None = None) -> None:
        self.lines = lines
        self.box_lines = box_lines
        self.reads: list[tuple[int, int]] = []

    def read(self, image: Image.Image) -> list[OcrLine]:
        self.reads.append(image.size)
        if image.size != (400, 300) and self.box_lines is not None:
            return self.box_lines
        return self.lines


CANVAS = Image.new("RGB", (400, 300), "white")


def test_a_string_split_over_two_lines_and_a_misspelt_one() -> None:
    engine = Scripted(
        [
            OcrLine("GRAND", (100, 20, 300, 60)),
            OcrLine("OPENING", (90, 70, 310, 110)),
            OcrLine("Satruday 10am", (100, 200, 300, 230)),
        ]
    )
    report = check_image(CANVAS, ["Grand Opening", "Saturday 10am"], engine=engine)
    grand, saturday = report.strings
    assert grand.found
    assert grand.match == "GRAND OPENING"
    assert grand.cer == 0.0
    assert grand.where == (90, 20, 310, 110)
    assert not saturday.found
    assert saturday.match == "Satruday 10am"
    # Spaces are ignored by default: "satruday10am" against "saturday10am", 2 edits in 12.
    assert saturday.cer == pytest.approx(2 / 12, abs=1e-4)
    assert not report.passed
    assert report.failed == (saturday,)
    # CVTG-2K numbers: 3 of 4 expected words read exactly.
    assert report.word_accuracy == pytest.approx(3 / 4)
    assert "'Saturday 10am' not found" in saturday.describe()


def test_box_is_read_first_and_the_whole_image_only_for_the_rest() -> None:
    inside = [OcrLine("SALE", (5, 5, 60, 30))]  # in crop coordinates
    engine = Scripted([OcrLine("SALE", (110, 45, 165, 70))], box_lines=inside)
    report = check_image(
        CANVAS, [ExpectedText("SALE", (100, 40, 200, 80))], engine=engine, find_extra=False
    )
    assert engine.reads == [(112, 52)]  # only the box (grown by 6 px) was read
    s = report.strings[0]
    assert s.found
    assert s.read == "box"
    assert s.in_box is True
    assert s.where == (99, 39, 154, 64)  # the crop origin (94, 34) added back


def test_text_outside_its_box_is_reported_and_fails_only_when_required() -> None:
    engine = Scripted([OcrLine("SALE", (10, 250, 60, 280))], box_lines=[])
    expected = [ExpectedText("SALE", (100, 40, 200, 80))]
    loose = check_image(CANVAS, expected, engine=engine)
    assert loose.strings[0].found
    assert loose.strings[0].in_box is False
    assert loose.passed
    assert "OUTSIDE its box" in loose.strings[0].describe()
    strict = check_image(CANVAS, expected, engine=engine, require_box=True)
    assert not strict.passed


def test_extra_text_nobody_asked_for() -> None:
    engine = Scripted(
        [OcrLine("SALE", (10, 10, 60, 30)), OcrLine("lorem ipsum", (10, 200, 90, 220))]
    )
    report = check_image(CANVAS, ["SALE"], engine=engine)
    assert [x.text for x in report.extra] == ["lorem ipsum"]
    assert report.passed  # extra text is reported, not failed


def test_dropped_spaces_pass_by_default_and_fail_when_spacing_is_checked() -> None:
    engine = Scripted([OcrLine("GRANDOPENING", (10, 10, 300, 40))])
    loose = check_image(CANVAS, ["GRAND OPENING"], engine=engine)
    assert loose.passed
    assert loose.word_accuracy == 0.0  # CVTG-2K still scores words: "grandopening" is neither
    spaced = Normalization(whitespace="collapse")
    assert not check_image(CANVAS, ["GRAND OPENING"], engine=engine, normalization=spaced).passed


def test_a_block_of_three_lines_is_one_string() -> None:
    engine = Scripted(
        [
            OcrLine("Free coffee", (10, 10, 200, 40)),
            OcrLine("all day", (10, 50, 200, 80)),
            OcrLine("every day", (10, 90, 200, 120)),
        ]
    )
    (s,) = check_image(CANVAS, ["Free coffee all day every day"], engine=engine).strings
    assert s.found
    assert s.match == "Free coffee all day every day"
    assert s.where == (10, 10, 200, 120)


def test_case_is_checked_only_when_asked() -> None:
    engine = Scripted([OcrLine("Sale", (10, 10, 60, 30))])
    assert check_image(CANVAS, ["SALE"], engine=engine).passed
    exact = check_image(CANVAS, ["SALE"], engine=engine, normalization=Normalization(case="exact"))
    assert not exact.passed
    assert exact.strings[0].cer == pytest.approx(3 / 4)


def test_tolerance_accepts_near_misses() -> None:
    engine = Scripted([OcrLine("HELL0 WORLD", (10, 10, 200, 30))])
    assert not check_image(CANVAS, ["HELLO WORLD"], engine=engine).passed
    assert check_image(CANVAS, ["HELLO WORLD"], engine=engine, tolerance=0.1).passed


def test_one_string_alone_is_one_string_not_its_characters() -> None:
    engine = Scripted([OcrLine("SALE", (10, 10, 60, 30))])
    report = check_image(CANVAS, "SALE", engine=engine)
    assert [s.expected for s in report.strings] == ["SALE"]


def test_nothing_read_at_all() -> None:
    report = check_image(CANVAS, ["SALE"], engine=Scripted([]))
    s = report.strings[0]
    assert not s.found
    assert s.match is None
    assert s.cer == 1.0
    assert s.ned == 0.0
    assert report.word_accuracy == 0.0


def test_bad_arguments_name_the_parameter() -> None:
    engine = Scripted([])
    with pytest.raises(ValidationError) as info:
        check_image(
            CANVAS,
            ["x"],
            engine=engine,
            tolerance=2,
            normalization=Normalization(case="upper"),  # type: ignore[arg-type]
        )
    assert set(info.value.params) == {"tolerance", "normalization.case"}
    with pytest.raises(ValidationError, match=r"expected\[0\]"):
        check_image(CANVAS, [42], engine=engine)  # type: ignore[list-item]
    assert engine.reads == []  # refused before reading


def test_report_round_trips_through_json() -> None:
    from imagewright.text import TextCheck

    engine = Scripted([OcrLine("SALE", (10, 10, 60, 30)), OcrLine("extra", (10, 200, 60, 230))])
    report = check_image(CANVAS, [ExpectedText("SALE", (0, 0, 100, 50), "headline")], engine=engine)
    again = TextCheck.from_dict(report.to_dict())
    assert again == report


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from imagewright import _ocr
    from imagewright.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    monkeypatch.setattr(_ocr, "_default", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'imagewright\[ocr\]'") as info:
        check_image(CANVAS, ["SALE"])
    assert isinstance(info.value, ImportError)
    assert info.value.extra == "ocr"


def test_a_custom_engine_satisfies_the_protocol() -> None:
    from imagewright.text import OcrEngine

    assert isinstance(Scripted([]), OcrEngine)


def test_the_default_engine_is_made_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from imagewright import _ocr
    from imagewright.text import default_engine

    made: list[object] = []

    class Slow:
        name = "slow"

        def __init__(self) -> None:
            time.sleep(0.05)  # a slow model load, so threads would race without the lock
            made.append(self)

        def read(self, image: Image.Image) -> list[OcrLine]:
            return []

    monkeypatch.setattr(_ocr, "RapidOcrEngine", Slow)
    monkeypatch.setattr(_ocr, "_default", None)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(default_engine())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    assert len(got) == 8
    assert all(g is made[0] for g in got)


def test_verify_text_on_a_stream_is_refused_before_sending() -> None:
    import imagewright

    with (
        imagewright.Client.sandbox() as client,
        pytest.raises(ValidationError, match="verify_text"),
    ):
        list(client.stream_generate('"HI"', verify_text=True))
