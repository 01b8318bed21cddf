from __future__ import annotations

import importlib.util

import pytest
from PIL import Image

from moderation.images import load_output_filter


def test_no_filter_configured_means_no_check():
    assert load_output_filter(None) is None and load_output_filter("none") is None


def test_unknown_filter_names_the_valid_ones():
    with pytest.raises(ValueError, match="none, nudenet"):
        load_output_filter("magic")


def test_nudenet_filter_is_an_optional_extra():
    if importlib.util.find_spec("nudenet") is None:
        with pytest.raises(RuntimeError, match=r"imaginebot\[nsfw\]"):
            load_output_filter("nudenet")
    else:
        check = load_output_filter("nudenet")
        assert check(Image.new("RGB", (64, 64))) is None  # a black square shows nothing
