"""A CSV import runs as a background job: progress, then its result, while other registry calls
keep flowing (before: one RPC parsed, checked and wrote every row on the hub while the gateway
waited up to 180 s)."""
from __future__ import annotations

import statistics
import time
from datetime import date

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from tests.integration.registry.support import OFFICER
from tests.support.fakes import fake_nik

pytestmark = pytest.mark.integration

VILLAGE = "36.04.06.2004"
ROWS = 5000
HEADER = "NIK;Nama;JK;Tempat Lahir;Tgl Lahir;Agama;Status Kawin;Dusun;RW;RT"


def big_file(rows: int) -> str:
    lines = [HEADER]
    for number in range(rows):
        sex = "LP"[number % 2]
        born = date(1961 + number % 10, 3, 3)
        lines.append(f"{fake_nik(born, sex)};Warga Banyak Contoh;{sex};Serang;"
                     f"{born:%d-%m-%Y};Islam;Kawin;Dusun Besar;{1 + number % 9};{1 + number % 20}")
    return "\n".join(lines) + "\n"


def test_a_big_import_reports_progress_while_other_calls_flow(registry, nameko_config):
    text = big_file(ROWS)
    with ClusterRpcProxy(nameko_config, timeout=60) as rpc:
        rpc.registry.get_village(VILLAGE)  # connection outside the timing
        started = time.monotonic()
        job = rpc.registry.start_import(VILLAGE, text, False, OFFICER)
        answered = time.monotonic() - started
        seen, latencies = [], []
        deadline = time.monotonic() + 600
        while job["status"] not in ("succeeded", "failed") and time.monotonic() < deadline:
            began = time.monotonic()
            rpc.registry.get_village(VILLAGE)
            latencies.append(time.monotonic() - began)
            job = rpc.registry.get_import(job["id"], VILLAGE)
            seen.append((job["status"], job["progress"]["phase"], job["progress"]["rows_done"]))
            time.sleep(0.05)
    print(f"start answered in {answered:.2f} s; {len(latencies)} reads while it ran, median "
          f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    assert job["status"] == "succeeded", job
    assert job["report"]["imported"] == ROWS and len(job["report"]["results"]) == ROWS
    assert answered < 5  # the POST answers at once (202), whatever the file's size
    running = [rows for status, _, rows in seen if status == "running" and 0 < rows < ROWS]
    assert running, seen  # progress was reported along the way
    assert running == sorted(running) or {phase for _, phase, _ in seen} > {"parsing"}
    # Other calls answered all along: reads during the job stay short.
    assert statistics.median(latencies) < 0.5, latencies
    assert len(latencies) >= 5


def test_unknown_village_and_empty_file_are_refused_at_once(registry):
    from services.common.errors import NotFound, ValidationFailed

    with pytest.raises(NotFound):
        registry.start_import("36.04.99.2999", HEADER + "\n", False, OFFICER)
    with pytest.raises(ValidationFailed):
        registry.start_import(VILLAGE, "  \n", False, OFFICER)
    with pytest.raises(NotFound):
        registry.get_import("not-a-job", VILLAGE)
