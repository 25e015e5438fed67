"""Reading an answer's base64 images out of its bytes gives exactly what ``json.loads`` gives."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagewright._answer import Answer, parse_answer

from ._capture import tiny_png


def _strict(text: str) -> bytes:
    return base64.b64decode(text.encode("utf-8"), validate=True)


def _or_error(fn: Any, arg: Any) -> Any:
    try:
        return fn(arg)
    except ValueError:  # binascii.Error
        return "not base64"


def _same_as_json(content: bytes) -> Any:
    got = parse_answer(content)
    want = json.loads(content)
    if isinstance(got, Answer):
        assert got.full() == want
        decoded = [_or_error(got.image, i) for i in range(len(got.images))]
        expected = [  # strict base64 (a real answer's): junk is an error, never skipped
            _or_error(_strict, d["b64_json"])
            for d in want["data"]
            if isinstance(d, dict) and isinstance(d.get("b64_json"), str)
        ]
        assert decoded == expected
    else:
        assert got == want
    return got


def test_a_plain_answer_is_cut_and_decoded() -> None:
    images = [tiny_png(color=(i, 0, 0)) for i in range(3)]
    body = {
        "created": 1,
        "data": [
            {"b64_json": base64.b64encode(im).decode(), "revised_prompt": "x"} for im in images
        ],
        "usage": {"input_tokens": 1},
    }
    got = _same_as_json(json.dumps(body).encode())
    assert isinstance(got, Answer)
    assert [got.image(i) for i in range(3)] == images
    assert [d["b64_json"] for d in got["data"]] == ["", "", ""]


TRICKY = [
    # the key inside a string value: escaped quotes, never cut
    b'{"revised_prompt": "say \\"b64_json\\": \\"AAAA\\"", "data": [{"b64_json": "QUJD"}]}',
    # blanks around the colon, and an escaped slash in the value: not cut (json decides)
    b'{"data": [{"b64_json" :\n "QU\\/D"}]}',
    b'{"data": [ { "b64_json"\t:\t"QUJD" } ] , "created" : 1}',
    # null and missing images
    b'{"data": [{"b64_json": null}, {"url": "https://x"}]}',
    # the key outside data: the counts do not match, so json parses it all
    b'{"b64_json": "QUJD", "data": []}',
    b'{"data": [{"b64_json": "QUJD"}], "extra": {"b64_json": "REVG"}}',
    # a string ending in a backslash right before the key
    b'{"note": "C:\\\\", "data": [{"b64_json": "QUJD"}]}',
    b"[1, 2]",
    b'{"data": "not a list", "b64_json": "x"}',
]


@pytest.mark.parametrize("content", TRICKY)
def test_tricky_answers_read_as_json_reads_them(content: bytes) -> None:
    _same_as_json(content)


def test_broken_json_is_still_a_value_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        parse_answer(b'{"data": [{"b64_json": "QUJD"}]')
    with pytest.raises(json.JSONDecodeError):
        parse_answer(b'{"data": [{"b64_json": "QUJD')


_text = st.lists(
    st.sampled_from([*'ab "\\/:{},[]\n', '"b64_json"', "b64_json", "é"]), max_size=8
).map("".join)
_b64 = st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())
_item = st.fixed_dictionaries(
    {"b64_json": st.one_of(_b64, st.none(), _text)},
    optional={"revised_prompt": _text, "url": _text},
)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(_item, max_size=4),
    extra=st.dictionaries(_text, st.one_of(_text, _b64, st.integers()), max_size=3),
    indent=st.sampled_from([None, 0, 2]),
)
def test_any_answer_reads_as_json_reads_it(
    items: list[dict[str, Any]], extra: dict[str, Any], indent: int | None
) -> None:
    body = {**extra, "data": items}
    for ascii_only in (True, False):
        _same_as_json(json.dumps(body, indent=indent, ensure_ascii=ascii_only).encode())
