"""Provenance: what every file we write says about itself, and reading it back.

PNG files carry the parameters (prompt, negative, seed, model, job id, software) as iTXt
chunks, and an XMP packet with the IPTC digital source type for AI-generated media
(`trainedAlgorithmicMedia`), which content-credential readers look for. WebP and JPEG
fallbacks (uploads over 10 MiB) carry the same XMP packet and the parameters in EXIF.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from importlib.metadata import PackageNotFoundError, version

from PIL import Image

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
XMP_KEY = "XML:com.adobe.xmp"  # the PNG iTXt keyword XMP readers look for
EXIF_IMAGE_DESCRIPTION = 0x010E
EXIF_SOFTWARE = 0x0131

_SOURCE_TYPE_RE = re.compile(r'Iptc4xmpExt:DigitalSourceType="([^"]+)"')


def software() -> str:
    try:
        return f"imaginebot {version('imaginebot')}"
    except PackageNotFoundError:
        return "imaginebot"


def xmp_packet() -> str:
    """The XMP packet declaring the file AI-generated (IPTC Extension schema)."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{DIGITAL_SOURCE_TYPE}"/>'
        "</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    )


def png_chunks(metadata: dict[str, str]) -> dict[str, str]:
    """The iTXt chunks of a PNG we write: the parameters, software, source type and XMP."""
    return {
        **metadata,
        "Software": software(),
        "DigitalSourceType": DIGITAL_SOURCE_TYPE,
        XMP_KEY: xmp_packet(),
    }


def exif_for(metadata: dict[str, str]) -> Image.Exif:
    """EXIF for a WebP/JPEG copy: the parameters as JSON in ImageDescription, and Software."""
    exif = Image.Exif()
    exif[EXIF_IMAGE_DESCRIPTION] = json.dumps(metadata, ensure_ascii=True)
    exif[EXIF_SOFTWARE] = software()
    return exif


def read_provenance(data: bytes) -> dict[str, str]:
    """What a file of ours says about itself (empty for a file without our metadata):
    the parameters, `Software`, and `DigitalSourceType` from the XMP packet."""
    with Image.open(io.BytesIO(data)) as image:
        found: dict[str, str] = {}
        text = getattr(image, "text", {}) or {}
        xmp = text.get(XMP_KEY) or image.info.get("xmp") or image.info.get(XMP_KEY) or ""
        if isinstance(xmp, bytes):
            xmp = xmp.decode("utf-8", "replace")
        exif = image.getexif()
        if EXIF_IMAGE_DESCRIPTION in exif:
            with contextlib.suppress(ValueError, TypeError):  # not our JSON: not ours
                found.update(json.loads(exif[EXIF_IMAGE_DESCRIPTION]))
        if EXIF_SOFTWARE in exif:
            found["Software"] = str(exif[EXIF_SOFTWARE])
        found.update({k: v for k, v in text.items() if k != XMP_KEY})
    match = _SOURCE_TYPE_RE.search(xmp)
    if match:
        found["DigitalSourceType"] = match.group(1)
    return found
