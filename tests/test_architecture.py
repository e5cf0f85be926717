"""The core reads no clock: time enters it as `now`. (What it may import is import-linter's contract.)"""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "agent" / "core"
CLOCKS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter", "process_time"}


def clock_reads(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in CLOCKS:
                found.append(f"line {node.lineno}: {name}()")
    return found


def test_no_core_module_reads_the_clock():
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) > 10
    assert {m.name: clock_reads(m.read_text()) for m in modules if clock_reads(m.read_text())} == {}


def test_the_check_would_see_a_clock_read():
    assert clock_reads("from datetime import datetime\nx = datetime.now(tz)\n") == ["line 2: now()"]
    assert clock_reads("import time\nt = time.monotonic()\n") == ["line 2: monotonic()"]
