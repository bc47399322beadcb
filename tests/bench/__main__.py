"""`make bench`: run every tests/bench/*_bench.py module's `run()`; prints figures, asserts nothing.

`python -m tests.bench [NAME ...]` runs only the modules whose name contains one of NAME
(e.g. `python -m tests.bench scale`).
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(HERE.parents[1]))
    modules = sorted(p.stem for p in HERE.glob("*_bench.py"))
    chosen = [m for m in modules if not argv or any(a in m for a in argv)]
    if not chosen:
        sys.stderr.write(f"no bench module matches {argv}; have: {', '.join(modules)}\n")
        return 2
    failed = []
    for name in chosen:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"tests.bench.{name}")
            module.run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.0f}s ==\n", flush=True)
    if failed:
        sys.stderr.write(f"bench modules that failed to run: {', '.join(failed)}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
