"""`make bench`: runs every tests/bench/bench_*.py `main()` in turn, then prints one table.

Each benchmark prints its own detail and records its summary rows (path, baseline, figure,
ratio, goal, met?) with tests/bench/summary.py; the table of all of them comes last.

Benchmarks are not part of `make test`: pytest collects test_*.py files only, never bench_*.py.
"""
from __future__ import annotations

import importlib
import sys
import time
import traceback
import warnings
from pathlib import Path

from tests.bench import summary

BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks whose module names contain any of `argv` (all when empty)."""
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    wanted = argv if argv is not None else sys.argv[1:]
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    names = [n for n in names if not wanted or any(w in n for w in wanted)]
    if not names:
        print("no benchmarks found in tests/bench (bench_*.py)")
        return 0
    failed = []
    for name in names:
        print(f"\n== {name} ==", flush=True)
        began = time.monotonic()
        summary.begin(name.removeprefix("bench_"))
        try:
            importlib.import_module(f"tests.bench.{name}").main()
        except Exception:  # noqa: BLE001 - report and go on with the next benchmark
            traceback.print_exc()
            failed.append(name)
        print(f"({name} took {time.monotonic() - began:.1f} s)", flush=True)
    print("\n== summary (every figure beside its baseline, measured in this run) ==")
    print(summary.render(summary.rows()) if summary.rows() else "no benchmark recorded a row")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
