"""Every file says what made it, in PNG and in the WebP/JPEG upload fallbacks."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference.images import encode_png, fit_upload
from inference.provenance import DIGITAL_SOURCE_TYPE, XMP_KEY, read_provenance

PARAMS = {"prompt": "a red fox", "negative": "people", "seed": "42", "model": "tiny", "job_id": "7"}


def _noise(side: int) -> Image.Image:
    rng = np.random.default_rng(side)
    return Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8))


def test_a_png_reads_back_its_parameters_software_and_source_type():
    found = read_provenance(encode_png(_noise(32), PARAMS))
    assert {k: found[k] for k in PARAMS} == PARAMS
    assert found["DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert found["Software"].startswith("imaginebot")
    assert XMP_KEY not in found


def test_the_xmp_packet_is_where_standard_readers_look():
    with Image.open(io.BytesIO(encode_png(_noise(16), PARAMS))) as image:
        xmp = image.text[XMP_KEY]
    assert "Iptc4xmpExt:DigitalSourceType" in xmp and DIGITAL_SOURCE_TYPE in xmp


@pytest.mark.parametrize("limit", [40_000, 8_000])
def test_a_re_encoded_upload_keeps_its_provenance(limit):
    data, ext = fit_upload(encode_png(_noise(256), PARAMS), limit)
    assert ext in ("webp", "jpg") and len(data) <= limit
    found = read_provenance(data)
    assert found["DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert found["prompt"] == "a red fox" and found["seed"] == "42"


def test_a_foreign_file_has_no_provenance():
    out = io.BytesIO()
    _noise(16).save(out, format="PNG")
    assert read_provenance(out.getvalue()) == {}


def test_png_encoding_is_lossless():
    image = _noise(48)
    with Image.open(io.BytesIO(encode_png(image, PARAMS))) as decoded:
        assert decoded.mode == "RGB" and np.array_equal(np.asarray(decoded), np.asarray(image))
