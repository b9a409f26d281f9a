"""`make bench`'s one table: rows judged against their goals and printed together."""
from __future__ import annotations

import pytest

from tests.bench import run_all, summary


@pytest.fixture(autouse=True)
def _empty_table():
    summary.clear()
    yield
    summary.clear()


def test_a_latency_over_its_limit_is_not_met_and_a_throughput_is_judged_by_its_share():
    slow = summary.at_most("search, p95", 61.0, "ms", 50, baseline=12.0, baseline_label="ping")
    fast = summary.at_most("page, p95", 20.0, "ms", 30)
    share = summary.ratio_at_least("reads", 450.0, "req/s", 0.8, baseline=500.0,
                                   baseline_label="echo")
    short = summary.ratio_at_least("import", 20_000.0, "rows/s", 0.3, baseline=125_000.0,
                                   baseline_label="COPY")
    assert (slow.met, fast.met, share.met, short.met) == (False, True, True, False)
    assert slow.ratio == pytest.approx(61 / 12) and fast.ratio is None
    assert share.goal == "≥ 80% of baseline" and slow.goal == "≤ 50 ms"


def test_run_all_prints_every_modules_rows_in_one_table_at_the_end(tmp_path, monkeypatch,
                                                                   capsys):
    for name, figure in (("bench_a", 10.0), ("bench_b", 90.0)):
        (tmp_path / f"{name}.py").write_text(
            "from tests.bench import summary\n"
            "def main():\n"
            f"    print('detail of {name}')\n"
            f"    summary.record(summary.at_most('{name} p95', {figure}, 'ms', 50))\n")
    monkeypatch.setattr(run_all, "BENCH_DIR", tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(run_all.importlib, "import_module",
                        lambda dotted: __import__(dotted.rsplit(".", 1)[1]))
    assert run_all.main([]) == 0
    out = capsys.readouterr().out
    table = out[out.index("== summary"):]
    assert out.index("detail of bench_b") < out.index("== summary")
    a_line = next(line for line in table.splitlines() if line.startswith("bench_a p95"))
    b_line = next(line for line in table.splitlines() if line.startswith("bench_b p95"))
    assert a_line.split()[-2:] == ["yes", "a"] and b_line.split()[-2:] == ["NO", "b"]


def test_percentile_is_the_nearest_rank():
    timings = [float(n) for n in range(1, 101)]  # 1..100 ms, shuffled order does not matter
    assert summary.percentile(list(reversed(timings))) == 96.0
    assert summary.percentile(timings, 0.99) == 100.0 and summary.percentile([7.0]) == 7.0
