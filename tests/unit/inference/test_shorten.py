"""/shorten's weighing: the words of a prompt, their shares and the shorter prompts (pure), and
the one-pass gradient estimate on the tiny model's real text encoder against the change each
word's removal actually makes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.shorten import KEEP, shorten, split_prompt, word_weights


def test_words_drop_punctuation_parameters_and_image_links():
    words, parameters = split_prompt(
        "https://cdn.discordapp.com/a.png a red fox, (misty) forest. --ar 3:2 --no people"
    )
    assert words == ["a", "red", "fox", "misty", "forest"]
    assert parameters == "--ar 3:2 --no people"


def test_options_keep_the_heaviest_words_in_the_prompts_order_with_its_parameters():
    prompt = "a red fox in a misty forest --ar 3:2"
    found = shorten(prompt, [0.05, 0.3, 0.4, 0.02, 0.03, 0.1, 0.1])
    assert found.important == ("red", "fox")  # above an even 1/7 share
    assert found.options[0] == "red fox misty forest --ar 3:2"  # 0.9 of the weight
    assert found.options[-1] == "fox --ar 3:2"  # the heaviest word holds 0.4 >= 0.3
    assert all(o.endswith(" --ar 3:2") for o in found.options)
    assert len(found.options) == len(set(found.options)) <= len(KEEP)
    assert pytest.approx(sum(found.weights)) == 1.0


def test_even_weights_mark_no_word_important_and_a_mismatch_is_refused():
    assert shorten("one two three four", [1.0] * 4).important == ()
    with pytest.raises(ValueError, match="3 weights for 4 words"):
        shorten("one two three four", [1.0] * 3)
    with pytest.raises(ValueError, match="no words"):
        shorten("--ar 3:2", [])


@pytest.fixture(scope="module")
def encoder(tiny_models_dir):
    from inference.engine import Engine

    engine = Engine("tiny", tiny_models_dir)
    engine.load()
    return engine._pipe.text_encoder, engine._pipe.tokenizer


def _dropped_distance(encoder, words: list[str]) -> list[float]:
    """How far the conditioning (its mean over the prompt's positions) moves when each word
    is dropped: the slow, exact way."""
    text_encoder, tokenizer = encoder

    def encode(text: str) -> torch.Tensor:
        ids = tokenizer(text, return_tensors="pt").input_ids  # start, text, end
        with torch.no_grad():
            return text_encoder(ids).last_hidden_state[0, 1:-1].mean(0)

    full = encode(" ".join(words))
    return [
        float((encode(" ".join(words[:i] + words[i + 1 :])) - full).norm())
        for i in range(len(words))
    ]


@pytest.mark.parametrize(
    "prompt",
    [
        "a red fox sitting in a misty forest at dawn oil painting",
        "portrait of an old knight with silver armor under stormy sky dramatic light",
        "cute cat wearing a tiny hat watercolor pastel colors soft",
    ],
)
def test_the_estimate_ranks_words_as_dropping_them_does(encoder, prompt):
    words = prompt.split()
    estimate = word_weights(*encoder, words)
    assert len(estimate) == len(words) and all(w > 0 for w in estimate)
    exact = _dropped_distance(encoder, words)
    rank = lambda values: np.argsort(np.argsort(values))  # noqa: E731
    correlation = np.corrcoef(rank(estimate), rank(exact))[0, 1]
    assert correlation > 0.6, (estimate, exact)


def test_the_encoder_renders_with_fused_attention_again_afterwards(encoder):
    text_encoder, tokenizer = encoder
    before = text_encoder.config._attn_implementation
    word_weights(text_encoder, tokenizer, ["a", "fox"])
    assert text_encoder.config._attn_implementation == before


def test_words_past_the_encoders_length_weigh_nothing(encoder):
    words = [f"w{n}" for n in range(60)]  # two tokens each: 120 > 75
    weights = word_weights(*encoder, words)
    assert weights[0] > 0 and weights[-1] == 0
