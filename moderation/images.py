"""Image checks: a classifier looks at image prompts before they are used and at results
before they are posted.

The classifier is a plug-in (`ImageClassifier`). The default, `classifier`, is any image
classification model transformers loads (a ViT fine-tuned for NSFW detection,
Falconsai/nsfw_image_detection, Apache-2.0, downloaded on first use; `tiny` builds a random
twin offline). `nudenet` wraps NudeNet, whose package carries AGPL-3.0 licence files, so it
is only an optional extra (`pip install imaginebot[nsfw]`), never a core dependency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

DEFAULT_IMAGE_CLASSIFIER = "Falconsai/nsfw_image_detection"
# Labels of image classifiers that mean "do not post" (the default model says "nsfw").
FLAGGED_LABELS = frozenset({"nsfw", "porn", "hentai", "sexy", "explicit", "unsafe"})

EXPOSED = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)


@dataclass(frozen=True)
class ImageVerdict:
    flagged: bool
    label: str = ""
    score: float = 0.0


class ImageClassifier(Protocol):
    name: str

    def check(self, image: Any) -> ImageVerdict:
        """Look at one PIL image; blocking and CPU/GPU-heavy (called from the worker thread)."""
        ...


class NudeNetClassifier:
    """Flags exposed nudity found by NudeNet's detector above `threshold`."""

    name = "nudenet"

    def __init__(self, threshold: float = 0.6) -> None:
        try:
            from nudenet import NudeDetector
        except ImportError as exc:
            raise RuntimeError(
                "IMAGINEBOT_OUTPUT_FILTER=nudenet needs the optional extra: "
                "pip install 'imaginebot[nsfw]'"
            ) from exc
        self._detector = NudeDetector()
        self.threshold = threshold

    def check(self, image: Any) -> ImageVerdict:
        import numpy as np

        bgr = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
        hits = [
            d
            for d in self._detector.detect(bgr)
            if d.get("class") in EXPOSED and float(d.get("score", 0)) >= self.threshold
        ]
        if not hits:
            return ImageVerdict(False)
        top = max(hits, key=lambda d: float(d["score"]))
        return ImageVerdict(True, str(top["class"]).lower(), float(top["score"]))


class TransformersImageClassifier:
    """Flags an image when a flagged label (FLAGGED_LABELS) scores at least `threshold`."""

    name = "classifier"

    def __init__(self, model: str | Path, threshold: float = 0.8) -> None:
        import torch
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        self._torch = torch
        self._processor = AutoImageProcessor.from_pretrained(str(model))
        self._model = AutoModelForImageClassification.from_pretrained(str(model)).eval()
        self.threshold = threshold
        labels = self._model.config.id2label
        self._flagged = [i for i, label in labels.items() if label.lower() in FLAGGED_LABELS]
        if not self._flagged:
            raise ValueError(
                f"image classifier {model}: none of its labels ({', '.join(labels.values())}) "
                f"means unsafe; expected one of {', '.join(sorted(FLAGGED_LABELS))}"
            )

    def check(self, image: Any) -> ImageVerdict:
        inputs = self._processor(images=image.convert("RGB"), return_tensors="pt")
        with self._torch.inference_mode():
            scores = self._model(**inputs).logits.softmax(-1)[0]
        best = max(self._flagged, key=lambda i: float(scores[i]))
        score = float(scores[best])
        label = str(self._model.config.id2label[best]).lower()
        return ImageVerdict(score >= self.threshold, label, score)


def build_tiny_image_classifier(path: Path, flags_everything: bool = False) -> Path:
    """A miniature randomly initialised ViT with the default model's labels (normal, nsfw),
    built offline: the real transformers path in tests. Its head is fixed, so its verdict is
    known: nothing is flagged, or (`flags_everything`) every image is."""
    if (path / "config.json").exists():
        return path
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(1234)
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        id2label={0: "normal", 1: "nsfw"},
        label2id={"normal": 0, "nsfw": 1},
    )
    model = ViTForImageClassification(config)
    head: Any = model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 6.0] if flags_everything else [6.0, 0.0]))
    model.save_pretrained(path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(path)
    return path


def load_output_filter(
    name: str | None,
    image_classifier: str = DEFAULT_IMAGE_CLASSIFIER,
    models_dir: Path | None = None,
) -> Callable[[Any], str | None] | None:
    """The configured check (IMAGINEBOT_OUTPUT_FILTER) as a function image -> label or None;
    `image_classifier` (IMAGINEBOT_IMAGE_CLASSIFIER) names the `classifier` model: a hub id,
    a folder, or `tiny`."""
    if not name or name == "none":
        return None
    classifier: ImageClassifier
    if name == "nudenet":
        classifier = NudeNetClassifier()
    elif name == "classifier":
        model: str | Path = image_classifier
        if image_classifier == "tiny":
            model = build_tiny_image_classifier((models_dir or Path(".")) / "tiny-image-classifier")
        classifier = TransformersImageClassifier(model)
    else:
        raise ValueError(f"unknown output filter {name!r}; valid: none, classifier, nudenet")

    def check(image: Any) -> str | None:
        verdict = classifier.check(image)
        return f"{classifier.name}: {verdict.label}" if verdict.flagged else None

    return check
