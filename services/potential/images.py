"""Photos: the bytes must be an image (sniffed, then decoded), and every photo gets a thumbnail.

The content type is read from the bytes, never from the client's header; an upload that is not
an image is a 415. Decoding also refuses decompression bombs (a tiny file of huge dimensions).
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps

from services.common.errors import UnsupportedMediaType, ValidationFailed

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel camera; anything larger is refused, not decoded
THUMBNAIL_SIZE = (320, 320)
THUMBNAIL_TYPE = "image/jpeg"


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    width: int
    height: int


def sniff_image(data: bytes) -> str:
    """The image type of `data`; 400 when empty or too large, 415 when it is not an image."""
    if not data:
        raise ValidationFailed("The file is empty.", fields={"file": ["Empty file."]})
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(f"The photo is larger than {MAX_PHOTO_BYTES} bytes.",
                               fields={"file": [f"At most {MAX_PHOTO_BYTES} bytes."]})
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in IMAGE_TYPES:
        found = kind.mime if kind else "unknown"
        raise UnsupportedMediaType("Only JPEG, PNG or WebP photos are accepted.",
                                   fields={"file": [f"File content is {found}."]})
    return kind.mime


def thumbnail(data: bytes) -> tuple[int, int, Thumbnail]:
    """(width, height) of the image and its thumbnail (JPEG, at most 320 px a side)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                image.load()
                width, height = image.size
                small = ImageOps.exif_transpose(image)
                small.thumbnail(THUMBNAIL_SIZE)
                if small.mode != "RGB":
                    background = Image.new("RGB", small.size, "white")
                    rgba = small.convert("RGBA")
                    background.paste(rgba, mask=rgba.getchannel("A"))
                    small = background
                out = io.BytesIO()
                small.save(out, "JPEG", quality=80, optimize=True)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise UnsupportedMediaType("The photo cannot be read as an image.",
                                   fields={"file": [type(exc).__name__]}) from None
    return width, height, Thumbnail(out.getvalue(), small.width, small.height)
