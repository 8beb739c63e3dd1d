"""A room's logo, as uploaded by the brand: checked and redrawn as a small PNG before it is served.

Only raster pictures (PNG, JPEG, WebP) are taken: an SVG can carry scripts and links, and the room
draws the logo as a WebGL texture, which needs pixels anyway. Redrawing with Pillow keeps only the
pixels (no metadata, nothing appended to the file) and bounds what every customer downloads.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image

#: What an upload may weigh (the file as sent).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
#: Larger pictures are refused before decoding (a small file can claim a huge canvas).
MAX_SOURCE_SIDE = 4096
#: The served logo fits in this square: the room draws it 0.7 m wide on its wall, the page 2 rem high.
SERVED_SIDE = 512
FORMATS = ("PNG", "JPEG", "WEBP")


class LogoRefused(ValueError):
    """The upload is not a logo this server takes; the message says why, for the brand admin."""


def redraw_logo(data: bytes) -> bytes:
    """The logo to serve, a PNG at most SERVED_SIDE pixels a side; raises LogoRefused."""
    if not data:
        raise LogoRefused("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise LogoRefused(f"a logo may be at most {MAX_UPLOAD_BYTES:,} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                width, height = probe.size
            if kind not in FORMATS:
                raise LogoRefused(f"a logo is a PNG, JPEG or WebP picture, not {kind or 'this file'}")
            if width > MAX_SOURCE_SIDE or height > MAX_SOURCE_SIDE:
                raise LogoRefused(f"a logo may be at most {MAX_SOURCE_SIDE} pixels a side")
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                picture = image.convert("RGBA")
    except LogoRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LogoRefused("the file is not a picture this server can read") from None
    picture.thumbnail((SERVED_SIDE, SERVED_SIDE))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
