"""/describe: an image becomes four prompts, through an image-captioning model (BLIP).

The captioner is a transformers BLIP captioning model: a hub id (downloaded on first use
into the models folder), a local folder, or "builtin" (a tiny random one written on the fly,
inference.tiny_captioner). The first suggestion is the model's most likely caption (beam
search); the others are nucleus samples, each from its own seed drawn from the job's
(sampled again until they differ), so a reroll with another seed gives other phrasings.
Each ends with the image's aspect ratio (`--ar 3:2`), as Midjourney's do.

Blocking (model, generation): from the render thread.
"""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from inference.presets import BUILTIN_CAPTIONER, MAX_ASPECT, NO_CAPTIONER
from inference.tiny_captioner import build_tiny_captioner

SUGGESTIONS = 4
MAX_NEW_TOKENS = 40
TOP_P = 0.9
BEAMS = 3
# Samples drawn at most per suggestion before a repeat is accepted.
TRIES = 3


class CaptionerError(Exception):
    """The captioning model could not be loaded or is turned off; the message says why."""


class Captioner:
    def __init__(self, source: str, cache_dir: Path, device: str = "cpu") -> None:
        self.source = source
        self.cache_dir = Path(cache_dir)
        self.device = device
        self._model: Any = None
        self._processor: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model once (idempotent)."""
        with self._lock:
            if self._model is not None:
                return
            if self.source == NO_CAPTIONER:
                raise CaptionerError(
                    "/describe is off on this bot: its owner can turn it on by setting "
                    "IMAGINEBOT_CAPTIONER to a captioning model."
                )
            from transformers import BlipForConditionalGeneration, BlipProcessor

            source = self.source
            if source == BUILTIN_CAPTIONER:
                source = str(build_tiny_captioner(self.cache_dir / "tiny-captioner"))
            try:
                processor = BlipProcessor.from_pretrained(source, cache_dir=self.cache_dir)
                model = BlipForConditionalGeneration.from_pretrained(
                    source, cache_dir=self.cache_dir
                )
            except (OSError, ValueError) as exc:
                raise CaptionerError(
                    f"the captioning model {self.source!r} could not be loaded: {exc}"
                ) from exc
            self._model, self._processor = model.to(self.device).eval(), processor

    def describe(self, image: Image.Image, seed: int, count: int = SUGGESTIONS) -> list[str]:
        """`count` distinct prompts for the image (fewer only if the model keeps repeating)."""
        import torch

        self.load()
        inputs = self._processor(images=image.convert("RGB"), return_tensors="pt")
        inputs = inputs.to(self.device)
        tokenizer = self._processor.tokenizer
        keep = {tokenizer.sep_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}
        options: dict[str, Any] = {
            "max_new_tokens": MAX_NEW_TOKENS,
            "suppress_tokens": [i for i in tokenizer.all_special_ids if i not in keep],
        }
        captions: list[str] = []
        with torch.no_grad():
            best = self._model.generate(**inputs, num_beams=BEAMS, **options)
            _add(captions, self._decode(best))
            draw = 0
            while len(captions) < count and draw < count * TRIES:
                draw += 1
                torch.manual_seed((seed << 8) + draw)
                sampled = self._model.generate(**inputs, do_sample=True, top_p=TOP_P, **options)
                _add(captions, self._decode(sampled))
        ratio = aspect_of(image.size)
        return [f"{caption} --ar {ratio[0]}:{ratio[1]}" for caption in captions[:count]]

    def _decode(self, generated: Any) -> str:
        text = self._processor.decode(generated[0], skip_special_tokens=True)
        return re.sub(r"\s+", " ", text).strip(" .,")


def _add(captions: list[str], caption: str) -> None:
    if caption and caption not in captions:
        captions.append(caption)


def aspect_of(size: tuple[int, int]) -> tuple[int, int]:
    """An image's aspect ratio in small whole numbers (1200x800 is 3:2), within the widest
    ratio a preset renders."""
    width, height = size
    ratio = min(max(width / height, 1 / MAX_ASPECT), MAX_ASPECT)
    best = min(
        ((w, h) for h in range(1, 17) for w in range(1, 17) if math.gcd(w, h) == 1),
        key=lambda wh: (abs(math.log(wh[0] / wh[1] / ratio)), wh[0] + wh[1]),
    )
    return best
