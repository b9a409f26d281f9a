"""`make run`'s closing banner: where the web portal, the office and the API are."""
from __future__ import annotations

from deploy.local.run import summary

DEMO = """demo data for village 36.04.05.2001:
  officer  demo.officer  s3cret
"""


def test_the_banner_prints_the_portal_urls():
    text = summary("http://127.0.0.1:8000", DEMO.replace("for village", "village"), 12.3)
    for line in ("Web portal     http://127.0.0.1:8000/",
                 "Village site   http://127.0.0.1:8000/desa/36.04.05.2001",
                 "Log in         http://127.0.0.1:8000/masuk",
                 "Office         http://127.0.0.1:8000/kantor",
                 "Regency dashboard: http://127.0.0.1:8000/kabupaten"):
        assert line in text
