"""Photos: sniffed, decoded, stored without metadata (GPS!) as they are shown, thumbnailed."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from services.common.errors import UnsupportedMediaType, ValidationFailed
from services.potential import images
from tests.support.photos import SECRETS, phone_photo


def _image(fmt: str, mode: str = "RGB", size=(50, 40)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, fmt)
    return out.getvalue()


def test_images_are_sniffed_and_thumbnailed():
    assert images.sniff_image(_image("PNG", "RGBA")) == "image/png"
    assert images.sniff_image(_image("WEBP")) == "image/webp"
    photo = images.prepare(_image("PNG", "RGBA", (1000, 500)))
    assert (photo.width, photo.height) == (1000, 500)
    assert (photo.thumbnail.width, photo.thumbnail.height) == (320, 160)
    with pytest.raises(UnsupportedMediaType):
        images.sniff_image(_image("GIF"))
    with pytest.raises(UnsupportedMediaType):
        images.sniff_image(b"%PDF-1.4")
    with pytest.raises(ValidationFailed):
        images.sniff_image(b"")
    with pytest.raises(UnsupportedMediaType):
        images.prepare(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)


def test_a_decompression_bomb_is_refused_before_decoding():
    bomb = _image("PNG", "1", (9000, 9000))  # 81 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    with pytest.raises(UnsupportedMediaType):
        images.prepare(bomb)


@pytest.mark.parametrize("fmt, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                               ("WEBP", "image/webp")])
def test_a_phones_photo_is_stored_as_shown_without_any_metadata(fmt, content_type):
    sent = phone_photo(fmt)
    assert [secret for secret in SECRETS if secret in sent]  # the test photo does carry them
    photo = images.prepare(sent)
    assert photo.content_type == content_type
    for stored in (photo.data, photo.thumbnail.data):
        assert [secret for secret in SECRETS if secret in stored] == []
        with Image.open(io.BytesIO(stored)) as image:
            assert images.metadata_of(image) == set()
            assert dict(image.getexif()) == {}
            # the orientation is applied to the pixels: red (the left) is now on top
            width, height = image.size
            assert height > width
            rgb = image.convert("RGB")
            top, bottom = rgb.getpixel((width // 2, 2)), rgb.getpixel((width // 2, height - 3))
            assert top[0] > 200 and top[2] < 50 and bottom[2] > 200 and bottom[0] < 50
    assert (photo.width, photo.height) == (600, 800)


def test_a_photo_without_metadata_is_stored_as_sent():
    plain = _image("JPEG", size=(640, 480))
    assert images.prepare(plain).data == plain
    cleaned = images.prepare(phone_photo()).data
    assert images.prepare(cleaned).data == cleaned  # stripping twice changes nothing


def test_the_size_limit_is_the_callers():
    """The gateway holds uploads to 8 MB; the service reads back what the gateway stored,
    which re-encoding may have made a little larger, so it allows more."""
    photo = _image("PNG", size=(64, 64))
    with pytest.raises(ValidationFailed):
        images.prepare(photo, max_bytes=len(photo) - 1)
    assert images.prepare(photo, max_bytes=len(photo)).data == photo
    assert images.MAX_STORED_BYTES > images.MAX_PHOTO_BYTES
