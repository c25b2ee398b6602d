"""Run every benchmark, print the table, and write it into docs/performance.md.

python -m bench            # all
python -m bench decoders   # the modules whose name contains "decoders"
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

from bench.harness import Figure, machine

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    wanted = argv[1:]
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    figures: list[Figure] = []
    for name in names:
        if wanted and not any(w in name for w in wanted):
            continue
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        got = module.run()
        for f in got:
            print("  " + f.row(), flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
        figures.extend(got)
    table = "\n".join(
        [
            f"Measured by `make bench` on {machine()}, {os.cpu_count()} cores, `QT_QPA_PLATFORM=offscreen`, "
            f"{time.strftime('%Y-%m-%d')}.",
            "",
            "| benchmark | measured | budget | verdict | note |",
            "|---|---|---|---|---|",
            *(f.row() for f in figures),
        ]
    )
    if not wanted:
        _write_doc(table)
    failed = [f for f in figures if not f.passed]
    print(f"\n{len(figures) - len(failed)} within budget, {len(failed)} over budget")
    return 1 if failed else 0


def _write_doc(table: str) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
