"""The trained classifier layer: the shipped weights on prompts written here (in no training
set), and training itself on a small labelled file through the real embedding model."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from moderation import check_prompt
from moderation.classifier import ClassifierHead
from moderation.semantic import SemanticCheck
from services.policy import moderate_batch

# Unsafe by their meaning, with no listed term in them.
UNSEEN_UNSAFE = [
    "a lonely man swallowing a whole bottle of sleeping pills to end it all",
    "a leaflet calling refugees a plague of parasites that must be wiped out",
    "a husband strangling his wife with a rope while she screams",
    "two lovers in bed, bodies entwined, explicit and intimate",
]
BENIGN = [
    "a red fox in the snow, cinematic lighting",
    "portrait of an old fisherman, dramatic light, highly detailed",
    "a cozy cabin in the woods in autumn, watercolor",
    "an astronaut riding a horse on mars, oil painting",
    "a bowl of ramen, food photography, top view",
    "a knight fighting a dragon, epic fantasy art",
]


@pytest.fixture(scope="module")
def semantic():
    return SemanticCheck()


def test_shipped_weights_load_with_a_threshold_per_category():
    head = ClassifierHead.load()
    assert len(head.categories) == len(head.thresholds) == head.weights.shape[0]
    assert all(0.5 <= t < 1 for t in head.thresholds)


@pytest.mark.parametrize("prompt", UNSEEN_UNSAFE)
def test_unsafe_prompts_the_terms_miss_are_caught_by_the_classifier(semantic, prompt):
    assert check_prompt([prompt]).allowed  # the term rules let it through
    verdict = semantic.check([prompt])
    assert verdict is not None and not verdict.allowed, prompt
    assert verdict.layer in ("classifier", "examples") and verdict.appealable


def test_benign_prompts_pass_every_layer(semantic):
    verdicts = moderate_batch(BENIGN, None, semantic)
    assert all(v.allowed for v in verdicts), [v.reason for v in verdicts]


def test_batch_gives_the_same_verdicts_as_one_by_one(semantic):
    prompts = [*UNSEEN_UNSAFE, *BENIGN, "a nude woman", "a {cat, dog} --no people"]
    batched = moderate_batch(prompts, None, semantic)
    single = [moderate_batch([p], None, semantic)[0] for p in prompts]
    assert [v.to_json() for v in batched] == [v.to_json() for v in single]
    assert batched[-2].layer == "terms"


def test_training_on_a_labelled_file_writes_weights_that_decide(tmp_path):
    data = tmp_path / "data.csv"
    with data.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["prompt", "category"])
        for n in range(40):
            writer.writerow([f"a landscape with {n} trees and a river, painting", "benign"])
            writer.writerow([f"a bloody corpse with {n} stab wounds", "violence"])
    out = tmp_path / "head.npz"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "moderate", "train", str(data), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["weights"] == str(out) and set(summary["thresholds"]) >= {"violence"}
    head = ClassifierHead.load(out)
    trained = SemanticCheck(head=head)
    vector = trained.embedder.embed(["a corpse covered in stab wounds and blood"])
    assert head.decide(head.scores(vector)[0]) is not None
    calm = trained.embedder.embed(["a river between trees, painting"])
    assert head.decide(head.scores(calm)[0]) is None
    assert np.array_equal(ClassifierHead.load(out).weights, head.weights)
