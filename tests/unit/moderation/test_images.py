from __future__ import annotations

import importlib.util

import pytest
from PIL import Image

from moderation.images import (
    TransformersImageClassifier,
    build_tiny_image_classifier,
    load_output_filter,
)


def test_no_filter_configured_means_no_check():
    assert load_output_filter(None) is None and load_output_filter("none") is None


def test_unknown_filter_names_the_valid_ones():
    with pytest.raises(ValueError, match="none, classifier, nudenet"):
        load_output_filter("magic")


def test_nudenet_filter_is_an_optional_extra():
    if importlib.util.find_spec("nudenet") is None:
        with pytest.raises(RuntimeError, match=r"imaginebot\[nsfw\]"):
            load_output_filter("nudenet")
    else:
        check = load_output_filter("nudenet")
        assert check(Image.new("RGB", (64, 64))) is None  # a black square shows nothing


def test_the_default_classifier_runs_through_transformers_on_its_tiny_twins(tmp_path):
    calm = load_output_filter("classifier", "tiny", tmp_path)
    images = [Image.new("RGB", (64, 48), (200, 30, 30)), Image.new("RGB", (17, 90))]
    assert calm is not None and [calm(i) for i in images] == [None, None]
    assert (tmp_path / "tiny-image-classifier" / "config.json").exists()
    strict = load_output_filter(
        "classifier", str(build_tiny_image_classifier(tmp_path / "all", flags_everything=True))
    )
    assert strict is not None and [strict(i) for i in images] == ["classifier: nsfw"] * 2
    verdict = TransformersImageClassifier(tmp_path / "all").check(images[0])
    assert verdict.flagged and verdict.label == "nsfw" and verdict.score > 0.99


def test_a_classifier_without_an_unsafe_label_is_refused(tmp_path):
    import json

    path = build_tiny_image_classifier(tmp_path / "labels")
    config = json.loads((path / "config.json").read_text())
    config["id2label"] = {"0": "cat", "1": "dog"}
    config["label2id"] = {"cat": 0, "dog": 1}
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="none of its labels"):
        TransformersImageClassifier(path)
