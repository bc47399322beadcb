"""`make lint` gate: handlers/ imports only the standard library and handlers.* (STYLE.md §2)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_PREFIXES = ("handlers",)


def offending_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ALLOWED_PREFIXES or top == "__future__":
                continue
            bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {name}")
    return bad


def main() -> int:
    bad = [line for p in sorted((ROOT / "handlers").rglob("*.py")) for line in offending_imports(p)]
    for line in bad:
        print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
