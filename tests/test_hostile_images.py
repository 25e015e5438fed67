"""The hostile image corpus (``tests/_hostile.py``) against every door an image comes through.

For each file: ``load_image`` (plain and ``verify=True``) and ``Mask.from_alpha`` either give a
correct, decodable image or raise imagewright's typed error, quickly; the sandbox, given the
raw bytes as an edit's image, answers 200 or a 4xx in the API's error shape, never a 500.
"""

from __future__ import annotations

import functools
import io
import time
import warnings

import httpx2
import pytest
from PIL import Image, ImageOps

from imagewright import Mask
from imagewright.errors import ValidationError
from imagewright.images import EncodedImage, load_image
from imagewright.sandbox import Sandbox, SandboxTransport

from . import _hostile

NAMES = sorted(_hostile.CORPUS)


@functools.cache
def _data(name: str) -> bytes:
    return _hostile.CORPUS[name]()


def _check_encoded(enc: EncodedImage, *, decode: bool = True) -> None:
    """A success must be a real image whose stated size and format are the decoded ones.

    Without ``decode`` only the header and container are checked: plain ``load_image``
    passes intact files through without decoding their pixels (``verify=True`` does).
    """
    assert enc.format in ("png", "jpeg", "webp")
    with Image.open(io.BytesIO(enc.data)) as im:
        if decode:
            im.load()
            assert ImageOps.exif_transpose(im).size == enc.size
        else:  # passed through as is: an orientation other than upright is always baked in
            assert im.size == enc.size
        assert (im.format or "").lower() == enc.format


@pytest.mark.parametrize("verify", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_load_image_gives_a_true_image_or_a_typed_error(name: str, verify: bool) -> None:
    data = _data(name)
    started = time.perf_counter()
    try:
        enc = load_image(data, verify=verify)
    except ValidationError as exc:
        params = [p.param for p in exc.problems]
    else:
        _check_encoded(enc, decode=verify)
        params = ["image"]
    assert params == ["image"]  # the refusal names the parameter
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_exif_orientation_is_applied_to_the_size_the_model_sees(
    kind: str, orientation: int
) -> None:
    enc = load_image(_data(f"exif_{kind}_orientation_{orientation}"))
    _check_encoded(enc)
    # Orientations 5..8 turn the 40x20 picture on its side.
    assert enc.size == ((20, 40) if orientation >= 5 else (40, 20))


@pytest.mark.parametrize("name", NAMES)
def test_a_hostile_mask_is_a_mask_or_a_typed_error(name: str) -> None:
    started = time.perf_counter()
    try:
        mask = Mask.from_alpha(_data(name))
    except ValidationError as exc:
        problems = len(exc.problems)
    else:
        problems = 1
        assert mask.width * mask.height > 0
    assert problems >= 1
    assert time.perf_counter() - started < 5.0


def test_damaged_pixels_passed_through_fail_typed_when_decoded() -> None:
    enc = load_image(_data("truncated_idat"))  # intact container: passed through unread
    with pytest.raises(ValidationError, match="pixel data is damaged"):
        enc.to_pil()
    with pytest.raises(ValidationError):
        load_image(_data("truncated_idat"), verify=True)


def test_the_sandbox_answers_every_hostile_image_without_crashing() -> None:
    sandbox = Sandbox()
    tried = 0
    with (
        httpx2.Client(transport=SandboxTransport(sandbox), base_url="http://sandbox/v1") as http,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning in the server
        for name in NAMES:
            data = _data(name)
            r = http.post(
                "/images/edits",
                data={"model": "gpt-image-2", "prompt": "x", "quality": "low", "size": "auto"},
                files={"image": ("in.png", data, "image/png")},
                headers={"Authorization": "Bearer k"},
            )
            tried += 1
            assert r.status_code in (200, 400), (name, r.status_code, r.text[:300])
            if r.status_code == 400:
                assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert tried == len(NAMES)
