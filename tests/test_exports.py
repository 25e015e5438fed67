"""The package root is the front door: ``__all__`` is sorted and is exactly what it exports."""

from __future__ import annotations
import __future__

import importlib
import types

import pytest

import imagewright


def test_all_is_sorted_and_unique() -> None:
    assert imagewright.__all__ == sorted(set(imagewright.__all__))


def test_all_matches_the_public_names() -> None:
    # The root exports lazily (module __getattr__): load every name, then compare what is there.
    for name in imagewright.__all__:
        value = getattr(imagewright, name)
        # A lazy name is the very object its module defines (not a stale or wrong entry)...
        if name in imagewright._WHERE:
            module = importlib.import_module(f"imagewright.{imagewright._WHERE[name]}")
            assert value is getattr(module, name), name
        # ...and classes, functions and modules carry the name they are exported under.
        if isinstance(value, (type, types.FunctionType, types.ModuleType)):
            assert value.__name__.rsplit(".", 1)[-1] == name, (name, value)
    public = {
        name
        for name, value in vars(imagewright).items()
        if not name.startswith("_")
        and not isinstance(value, __future__._Feature)
        and not (isinstance(value, types.ModuleType) and name not in imagewright.__all__)
    }
    assert public | {"__version__"} == set(imagewright.__all__)
    assert dir(imagewright) == imagewright.__all__


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Clinet'"):
        imagewright.Clinet  # type: ignore[attr-defined]  # noqa: B018
