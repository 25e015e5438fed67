"""The two trees in errors.py: every warning under one base, every error under one root."""

from __future__ import annotations

import warnings

import pytest

import imagewright
from imagewright import errors

WARNINGS = [
    name
    for name in imagewright.__all__
    if isinstance(getattr(imagewright, name), type)
    and issubclass(getattr(imagewright, name), Warning)
]
ERRORS = [
    name
    for name in imagewright.__all__
    if isinstance(getattr(imagewright, name), type)
    and issubclass(getattr(imagewright, name), BaseException)
    and not issubclass(getattr(imagewright, name), Warning)
]


def test_the_package_exports_every_warning_we_emit():
    assert sorted(WARNINGS) == [
        "ContrastWarning",
        "ExperimentalSizeWarning",
        "FinishWarning",
        "ImagewrightWarning",
        "InsecureURLWarning",
        "MaskWarning",
        "PreviewFeatureWarning",
        "UnknownModelWarning",
    ]


@pytest.mark.parametrize("name", WARNINGS)
def test_every_warning_is_an_imagewright_warning_defined_in_errors_and_drawn(name: str):
    cls = getattr(imagewright, name)
    assert issubclass(cls, errors.ImagewrightWarning)
    assert issubclass(cls, UserWarning)  # existing filters on UserWarning keep working
    assert cls.__module__ == "imagewright.errors"
    assert name in (errors.__doc__ or "")


@pytest.mark.parametrize("name", ERRORS)
def test_every_error_is_rooted_defined_in_errors_and_drawn(name: str):
    cls = getattr(imagewright, name)
    assert issubclass(cls, errors.ImagewrightError)
    assert cls.__module__ == "imagewright.errors"
    assert name in (errors.__doc__ or "")


def test_old_import_places_still_work():
    from imagewright.masks import MaskWarning
    from imagewright.models import UnknownModelWarning
    from imagewright.typography import GlyphError, TextFitError

    assert MaskWarning is errors.MaskWarning
    assert UnknownModelWarning is errors.UnknownModelWarning
    assert (GlyphError, TextFitError) == (errors.GlyphError, errors.TextFitError)


def test_one_filter_turns_every_imagewright_warning_into_an_error():
    from imagewright import Client, Prompt

    client = Client(api_key="sk-test-not-used")
    with warnings.catch_warnings():
        warnings.simplefilter("error", imagewright.ImagewrightWarning)
        with pytest.raises(imagewright.UnknownModelWarning):
            client.compile_generate(Prompt("a cat"), model="gpt-image-9-unknown")
