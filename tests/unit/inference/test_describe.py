"""/describe's captioner on the tiny random BLIP: the real transformers loading and
generation code, four distinct prompts per image, seeded, with the image's aspect ratio."""

from __future__ import annotations

import pytest
from PIL import Image

from inference.describe import Captioner, CaptionerError, aspect_of
from inference.presets import BUILTIN_CAPTIONER, NO_CAPTIONER
from testing.imageserver import gradient


@pytest.fixture(scope="module")
def captioner(tiny_models_dir):
    return Captioner(BUILTIN_CAPTIONER, tiny_models_dir)


def test_four_distinct_prompts_ending_with_the_images_aspect_ratio(captioner):
    prompts = captioner.describe(gradient(120, 80), seed=7)
    assert len(prompts) == len(set(prompts)) == 4
    assert all(p.endswith(" --ar 3:2") and len(p) > len(" --ar 3:2") for p in prompts)


def test_the_same_seed_gives_the_same_prompts_and_another_seed_others(captioner):
    image = gradient(64, 64)
    first = captioner.describe(image, seed=1)
    assert captioner.describe(image, seed=1) == first
    assert captioner.describe(image, seed=2) != first


def test_the_prompts_depend_on_the_image(captioner):
    red, blue = Image.new("RGB", (64, 64), "red"), Image.new("RGB", (64, 64), "blue")
    assert captioner.describe(red, seed=3) != captioner.describe(blue, seed=3)


def test_describing_turned_off_or_an_unloadable_model_says_so(tmp_path):
    with pytest.raises(CaptionerError, match="IMAGINEBOT_CAPTIONER"):
        Captioner(NO_CAPTIONER, tmp_path).describe(gradient(), seed=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaptionerError, match="could not be loaded"):
        Captioner(str(tmp_path / "empty"), tmp_path).describe(gradient(), seed=1)


@pytest.mark.parametrize(
    ("size", "ratio"),
    [((1200, 800), (3, 2)), ((1920, 1080), (16, 9)), ((1024, 1000), (1, 1)),
     ((800, 1200), (2, 3)), ((5000, 100), (4, 1))],
)  # fmt: skip
def test_aspect_ratios_are_small_whole_numbers_within_the_widest(size, ratio):
    assert aspect_of(size) == ratio
