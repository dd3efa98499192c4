"""Run every benchmark and write their tables into README.md between the bench markers."""
from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import RESULTS, markdown_table  # noqa: E402

README = HERE.parent / "README.md"


def main(argv: list[str]) -> None:
    topics = argv or sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))
    for topic in topics:
        print(f"== {topic}")
        importlib.import_module(f"bench_{topic}").main()
    update_readme()


def update_readme() -> None:
    """Replace the README section between ``<!-- bench:start -->`` and ``<!-- bench:end -->``."""
    rows = []
    for path in sorted(RESULTS.glob("*.json")):
        rows += json.loads(path.read_text())
    text = README.read_text()
    block = f"<!-- bench:start -->\n{markdown_table(rows)}\n<!-- bench:end -->"
    README.write_text(re.sub(r"<!-- bench:start -->.*?<!-- bench:end -->", lambda _: block, text, flags=re.S))


if __name__ == "__main__":
    main(sys.argv[1:])
