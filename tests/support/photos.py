"""A phone's photo as it arrives: GPS position, camera serial, XMP, a comment, a colour
profile, and an orientation the pixels do not have yet."""
from __future__ import annotations

import io

from PIL import ExifTags, Image, ImageCms

# Bytes that appear in the file only as its metadata; none may survive storing it.
SECRETS = (b"Exif\x00\x00", b"SERIAL-998877", b"KameraMerek", b"rumah Bu Siti", b"lokasi-xmp",
           b"ICC_PROFILE")


def phone_photo(fmt: str = "JPEG", size: tuple[int, int] = (800, 600)) -> bytes:
    """Red on the left, blue on the right, taken with the phone on its side (orientation 6:
    shown turned a quarter clockwise, so red on top), at 6°7'30.5"S 106°15'12.25"E."""
    image = Image.new("RGB", size, "red")
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "KameraMerek"
    exif[ExifTags.Base.BodySerialNumber] = "SERIAL-998877"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "S", 2: (6.0, 7.0, 30.5), 3: "E",
                                                4: (106.0, 15.0, 12.25)})
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    extra = {"comment": b"rumah Bu Siti"} if fmt == "JPEG" else {}
    if fmt == "PNG":
        from PIL import PngImagePlugin

        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "rumah Bu Siti")
        extra = {"pnginfo": text}
    image.save(out, fmt, exif=exif, icc_profile=icc, xmp=b"<x:xmpmeta>lokasi-xmp</x:xmpmeta>",
               **extra)
    return out.getvalue()
