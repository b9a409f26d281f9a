"""Letters service: surat keterangan requests, numbering, PDF and QR verification."""
