"""Uploaded documents: the content type is read from the bytes, never from the client's header."""
from __future__ import annotations

import filetype

from services.common.errors import ValidationFailed

SNIFF_BYTES = 8192  # enough of the head of a file for every signature we accept


def sniff_document(head: bytes, size: int, allowed: dict[str, str] | tuple[str, ...],
                   max_bytes: int) -> str:
    """The content type of an upload of `size` bytes starting with `head`, if `allowed`."""
    if size == 0:
        raise ValidationFailed("the file is empty", fields={"file": ["empty file"]})
    if size > max_bytes:
        raise ValidationFailed(
            f"the file is larger than {max_bytes // (1024 * 1024)} MB",
            fields={"file": [f"at most {max_bytes} bytes"]})
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is None or kind.mime not in allowed:
        found = kind.mime if kind else "unknown"
        names = [mime.split("/")[1].upper() for mime in allowed]
        listed = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
        raise ValidationFailed(f"only {listed} files are accepted",
                               fields={"file": [f"file content is {found}"]})
    return kind.mime
