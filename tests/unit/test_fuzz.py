"""Hostile input never crashes the pure parts a member reaches: the prompt parser, the
moderation normaliser and policy, and the image decoder (only its own errors come out)."""

from __future__ import annotations

import io
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from inference.prompt import PromptError, expand, parse
from moderation import check_prompt
from moderation.normalize import tokens
from services.image_fetch import FetchLimits, ImageFetchError, PixelBudget, decode
from services.policy import moderate_prompt

# Letters, digits, the prompt language's punctuation, look-alikes, emoji, invisible and
# bidi characters: the alphabet evasions and parser bugs are made of.
_TRICKY = st.sampled_from(
    [
        *"abcnudex0134578@$!|*-.:,;{}[]()<>=/\\ \n\t",
        *("::", "--", "--no ", "--ar ", "--iw ", "https://", "а", "е", "о", "ν", "ｎ"),
        *("\u200b", "\u202e", "\u2066", "\u2069", "\ufe0f", "\u00ad", "\u0301", "\U000e0041"),
        *("👧", "🍆", "🔞", "🏻", "\ud7ff", "\x00"),
    ]
)
hostile_text = st.lists(st.one_of(_TRICKY, st.text(max_size=3)), max_size=120).map("".join)
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(hostile_text)
def test_moderation_takes_any_text_and_answers_in_bounded_time(text):
    started = time.perf_counter()
    verdict = moderate_prompt(text)
    check_prompt([text, text[::-1]], [text])
    tokens(text)
    assert verdict.allowed or verdict.reason
    assert time.perf_counter() - started < 2.0  # a ceiling against blow-ups, not a benchmark


@_SETTINGS
@given(hostile_text)
def test_the_parser_parses_or_says_what_is_wrong(text):
    try:
        for expansion in expand(text)[:8]:
            parse(expansion)
    except PromptError as error:
        assert str(error)


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (9, 99, 199)).save(out, format="PNG")
    return out.getvalue()


_IMAGE = _png(16, 12)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.tuples(st.integers(0, len(_IMAGE)), st.binary(max_size=40)).map(
            lambda cut: _IMAGE[: cut[0]] + cut[1] + _IMAGE[cut[0] + len(cut[1]) :]
        ),
        st.integers(1, len(_IMAGE) - 1).map(lambda n: _IMAGE[:n]),
    )
)
def test_a_malformed_image_is_refused_with_a_reason_or_decoded(data):
    limits = FetchLimits(frozenset(), max_bytes=1 << 20, max_pixels=64 * 64, timeout_s=1)
    try:
        image = decode("https://cdn.discordapp.com/x.png", data, limits, PixelBudget(limits))
    except ImageFetchError as error:
        assert error.code.startswith("image_") and "Image prompt" in error.message
    else:
        assert image.mode == "RGB" and image.width * image.height <= 64 * 64
