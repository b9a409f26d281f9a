"""Sample inputs shared by letters tests and the benchmark: file headers, printed content."""
import zlib
from datetime import date

from services.letters import catalogue, domain

PDF_HEAD = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


def png_bytes() -> bytes:
    """A valid 1x1 greyscale PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    header = b"\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def sample_content(paper_size="A4"):
    letter_type = catalogue.TYPES["domisili"]
    values = {"name": "Siti Aminah", "nik": "3604054101909001", "signer_title": "Kepala Desa",
              "village_name": "Kramatwatu", "district_name": "Kramatwatu",
              "regency_name": "Kabupaten Serang", "purpose": "Melamar pekerjaan",
              "valid_until": "18 Februari 2023"}
    blocks = domain.body_blocks(domain.fill_template(letter_type.body, values))
    return {
        "title": letter_type.title, "number": "470/007/2001/I/2023", "paper_size": paper_size,
        "village": {"name": "Kramatwatu", "kind_title": "Desa", "district_name": "Kramatwatu",
                    "regency_name": "Kabupaten Serang", "office_address": "Jl. Raya Serang Km. 8"},
        "blocks": [{"kind": b.kind, "text": b.text, "rows": [list(r) for r in b.rows]}
                   for b in blocks],
        "place_date": domain.place_and_date("Kramatwatu", date(2023, 1, 19)),
        "signer": {"name": "H. Ahmad Fauzi", "title": "Kepala Desa Kramatwatu"},
    }
