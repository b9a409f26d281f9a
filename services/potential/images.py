"""Photos: the bytes must be an image (sniffed, then decoded), they are stored without any
metadata, and every photo gets a thumbnail.

The content type is read from the bytes, never from the client's header; an upload that is not
an image is a 415. Decoding also refuses decompression bombs (a tiny file of huge dimensions).
A phone's photo carries EXIF (often the GPS position of the owner's house, the camera's serial
number, the time), XMP, IPTC or comments: none of it is kept (decision 0052). The orientation
the camera recorded is applied to the pixels first, and a colour profile is converted to sRGB,
so the photo looks as it did.
"""
from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import filetype
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from services.common.errors import UnsupportedMediaType, ValidationFailed

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTO_BYTES = 8 * 1024 * 1024
# What the service accepts back from the bucket: an upload re-encoded without its metadata may
# come out a little larger than it was sent (a PNG compressed harder by the phone than by us).
MAX_STORED_BYTES = 2 * MAX_PHOTO_BYTES
MAX_PIXELS = 40_000_000  # a 40-megapixel camera; anything larger is refused, not decoded
THUMBNAIL_SIZE = (320, 320)
THUMBNAIL_TYPE = "image/jpeg"
ORIENTATION = 0x0112
# What Pillow reports of an image beyond its pixels that may say who, where or with what.
METADATA = ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop", "iptc",
            "mp", "mpoffset")
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Photo:
    """What is stored of an upload: the image without metadata, and its thumbnail."""
    data: bytes
    content_type: str
    width: int
    height: int
    thumbnail: Thumbnail | None


def sniff_image(data: bytes, max_bytes: int = MAX_PHOTO_BYTES) -> str:
    """The image type of `data`; 400 when empty or too large, 415 when it is not an image."""
    if not data:
        raise ValidationFailed("The file is empty.", fields={"file": ["Empty file."]})
    if len(data) > max_bytes:
        raise ValidationFailed(f"The photo is larger than {max_bytes} bytes.",
                               fields={"file": [f"At most {max_bytes} bytes."]})
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in IMAGE_TYPES:
        found = kind.mime if kind else "unknown"
        raise UnsupportedMediaType("Only JPEG, PNG or WebP photos are accepted.",
                                   fields={"file": [f"File content is {found}."]})
    return kind.mime


@contextmanager
def _decoded(data: bytes) -> Iterator[Image.Image]:
    """The decoded image; 415 when it cannot be read or is a decompression bomb."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                image.load()
                yield image
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise UnsupportedMediaType("The photo cannot be read as an image.",
                                   fields={"file": [type(exc).__name__]}) from None


def metadata_of(image: Image.Image) -> set[str]:
    """The kinds of metadata `image` carries (empty for pixels alone)."""
    found = {key for key in METADATA if image.info.get(key)}
    if getattr(image, "text", None):  # PNG tEXt/iTXt/zTXt chunks
        found.add("text")
    found.update(f"APP{marker[3:]}" if marker.startswith("APP") else marker
                 for marker, _ in getattr(image, "applist", [])
                 if marker not in ("APP0", "APP14"))  # JFIF header, Adobe colour transform
    return found


def _pixels(image: Image.Image) -> Image.Image:
    """The image as it is meant to be seen, as pixels only: orientation applied, colours in
    sRGB, nothing else from the file (a PNG's transparency is pixels, so it stays)."""
    shown = ImageOps.exif_transpose(image)
    icc = image.info.get("icc_profile")
    if icc or shown.mode == "CMYK":
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc)) if icc else _SRGB
            mode = "RGBA" if "A" in shown.getbands() else "RGB"
            shown = ImageCms.profileToProfile(shown, source, _SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError):
            shown = shown.convert("RGB")  # a broken profile: the colours as they are
    transparency = image.info.get("transparency")
    shown.info = {} if transparency is None else {"transparency": transparency}
    return shown


def _encode(image: Image.Image, source: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        options: dict = {"quality": 90}
        if isinstance(source, JpegImagePlugin.JpegImageFile) and source.quantization:
            # the camera's own tables: re-encoding loses next to nothing
            options = {"qtables": source.quantization}
            sampling = JpegImagePlugin.get_sampling(source)
            if sampling != -1:
                options["subsampling"] = sampling
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", **options)
    elif fmt == "PNG":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=90)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> Thumbnail:
    small = image.copy()
    small.thumbnail(THUMBNAIL_SIZE)
    if small.mode != "RGB":
        background = Image.new("RGB", small.size, "white")
        rgba = small.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        small = background
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80, optimize=True)
    return Thumbnail(out.getvalue(), small.width, small.height)


def prepare(data: bytes, with_thumbnail: bool = True, max_bytes: int = MAX_PHOTO_BYTES) -> Photo:
    """The photo to store: the image without metadata (the very bytes sent when it has none),
    its size as shown, and its thumbnail (JPEG, at most 320 px a side). 400/415 as
    `sniff_image`, 415 when it does not decode."""
    content_type = sniff_image(data, max_bytes)
    with _decoded(data) as image:
        orientation = image.getexif().get(ORIENTATION, 1)
        if metadata_of(image) or orientation != 1 or image.mode == "CMYK":
            shown = _pixels(image)
            data = _encode(shown, image, FORMATS[content_type])
        else:  # already pixels only: stored as sent, not re-encoded
            shown = image
        thumb = _thumbnail(shown) if with_thumbnail else None
        return Photo(data, content_type, shown.width, shown.height, thumb)
