"""The one table `make bench` ends with: each benchmark records its rows here, run_all prints them.

A row is one path of issue 12's goals: the figure measured, the baseline measured beside it in
the same run (the machine is shared and noisy, so a ratio says more than a number), the goal and
whether it was met. A benchmark keeps printing its own detail table too; this is the summary.

    from tests.bench import summary
    summary.record(summary.at_most("regency: name search in a village, p95", p95, "ms", 50,
                                   baseline=ping_p95, baseline_label="gateway → registry.ping"))
    summary.record(summary.ratio_at_least("resident GET, 16 clients", rps, "req/s", 0.8,
                                          baseline=echo_rps, baseline_label="bare RPC echo"))
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Row:
    path: str
    figure: float
    unit: str
    goal: str  # as the table prints it, e.g. "≤ 50 ms" or "≥ 80 % of baseline"
    met: bool | None  # None: no goal, reported for information
    baseline: float | None = None
    baseline_label: str = ""
    source: str = ""  # the bench module that measured it; run_all fills it in

    @property
    def ratio(self) -> float | None:
        """Figure over baseline (for throughputs the share of the baseline reached)."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.figure / self.baseline


def at_most(path: str, figure: float, unit: str, limit: float, *, baseline: float | None = None,
            baseline_label: str = "") -> Row:
    """A figure that must stay at or below `limit` (latencies)."""
    return Row(path, figure, unit, f"≤ {_number(limit)} {unit}", figure <= limit, baseline,
               baseline_label)


def at_least(path: str, figure: float, unit: str, limit: float, *, baseline: float | None = None,
             baseline_label: str = "") -> Row:
    """A figure that must reach `limit` (throughputs with an absolute goal)."""
    return Row(path, figure, unit, f"≥ {_number(limit)} {unit}", figure >= limit, baseline,
               baseline_label)


def ratio_at_least(path: str, figure: float, unit: str, share: float, *, baseline: float,
                   baseline_label: str) -> Row:
    """A figure that must reach `share` of the baseline measured in the same run."""
    return Row(path, figure, unit, f"≥ {share:.0%} of baseline", figure >= share * baseline,
               baseline, baseline_label)


def info(path: str, figure: float, unit: str, *, baseline: float | None = None,
         baseline_label: str = "") -> Row:
    """A figure with no goal of its own, shown for context."""
    return Row(path, figure, unit, "—", None, baseline, baseline_label)


def percentile(milliseconds: list[float], share: float = 0.95) -> float:
    """The value below which `share` of the timings fall (p95 by default), nearest rank."""
    ordered = sorted(milliseconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


_rows: list[Row] = []
_source = ""


def record(*rows: Row) -> None:
    """Add rows to the table (kept in order; run_all prints them after every benchmark ran)."""
    for row in rows:
        _rows.append(row if row.source else replace(row, source=_source))


def begin(source: str) -> None:
    """run_all: the rows recorded from now on come from the bench module `source`."""
    global _source
    _source = source


def rows() -> list[Row]:
    return list(_rows)


def clear() -> None:
    _rows.clear()


def render(table: Iterable[Row]) -> str:
    """The rows as a fixed-width text table (what `make bench` prints last)."""
    header = ("path", "baseline", "figure", "ratio", "goal", "met?", "bench")
    lines = [[row.path,
              f"{_number(row.baseline)} {row.unit} ({row.baseline_label})"
              if row.baseline is not None else "—",
              f"{_number(row.figure)} {row.unit}",
              f"{row.ratio:.2f}" if row.ratio is not None else "—",
              row.goal,
              {True: "yes", False: "NO", None: "—"}[row.met],
              row.source] for row in table]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
           for cells in [header, ["-" * w for w in widths], *lines]]
    return "\n".join(out)


def print_table() -> None:
    """Print what was recorded (a bench module run alone calls this at its end)."""
    if _rows:
        print("\n" + render(_rows), flush=True)


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
