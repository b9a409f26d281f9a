"""Village finance: APBDes, payment requests (SPP), cash books and realisation reports."""
