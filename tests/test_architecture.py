"""The house's rules that import-linter's contracts do not say: the core reads no clock (time enters it as `now`);
no import circle anywhere in agent/; no module reads another's private attribute; no Effect goes unapplied."""

import ast
import re
import sys
from pathlib import Path

import grimp
import mypy.api

REPO = Path(__file__).resolve().parent.parent
AGENT = REPO / "agent"
CORE = AGENT / "core"
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
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 10
    assert {m.name: clock_reads(m.read_text()) for m in modules if clock_reads(m.read_text())} == {}


def test_the_check_would_see_a_clock_read():
    assert clock_reads("from datetime import datetime\nx = datetime.now(tz)\n") == ["line 2: now()"]
    assert clock_reads("import time\nt = time.monotonic()\n") == ["line 2: monotonic()"]


def circles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(imports.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while component[-1:] != [v]:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(imports):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_agent_not_even_through_an_import_inside_a_function():
    graph = grimp.build_graph("agent")  # grimp reads imports inside functions too
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert len(imports) > 50
    assert circles(imports) == []


def test_the_circle_check_would_see_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def private_reads(source: str) -> list[str]:
    """`x._name` where x is not self or cls: a module reading what another keeps to itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


# The one exception, kept to one module: tooz's etcd3gw lock exposes neither its key nor its lease, and the fence
# must ask etcd itself who holds the lock (LIBRARY-NOTES: after SIGSTOP, Lock.heartbeat() still says True).
THIRD_PARTY_INTERNALS = {"agent/engine/lease.py": {"_key", "_uuid", "_lease"}}


def test_no_module_reads_another_s_private_attribute():
    found = {}
    for p in sorted(AGENT.rglob("*.py")):
        path = str(p.relative_to(REPO))
        allowed = THIRD_PARTY_INTERNALS.get(path, set())
        reads = [r for r in private_reads(p.read_text()) if r.rpartition("._")[2] not in {a[1:] for a in allowed}]
        if reads:
            found[path] = reads
    assert found == {}


def test_the_private_read_check_would_see_one():
    assert private_reads("def f(agent):\n    return agent._problem\n") == ["line 2: agent._problem"]
    assert private_reads("class A:\n    def f(self):\n        return self._x\n") == []


def test_an_effect_without_its_branch_in_apply_fails_the_type_check(tmp_path):
    """engine/apply.py ends in assert_never: mypy names any Effect that no branch applies."""
    source = (AGENT / "engine" / "apply.py").read_text()
    branch = "    elif isinstance(effect, Steer):\n        store.set_steering(incident_id, effect.steering)\n"
    assert branch in source
    broken = tmp_path / "apply_without_steer.py"
    broken.write_text(source.replace(branch, ""))
    out, _, code = mypy.api.run(["--no-incremental", "--follow-imports=silent", "--python-version=3.11", str(broken)])
    assert code == 1 and 'Argument 1 to "assert_never" has incompatible type "Steer"' in out, out


SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE|WITH)\b", re.IGNORECASE)


def sql_in(source: str) -> list[str]:
    """String literals that are SQL, and calls that run it (`.execute`, `.query`, `.connect`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
            found.append(f"line {node.lineno}: {node.value[:40]!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("execute", "executemany", "query", "connect"):
                found.append(f"line {node.lineno}: .{node.func.attr}()")
    return found


def test_the_engine_and_the_cli_run_no_sql_the_adapters_do():
    shell = [p for layer in ("engine", "cli") for p in sorted((AGENT / layer).rglob("*.py"))]
    found = {str(p.relative_to(REPO)): sql_in(p.read_text()) for p in shell}
    assert {path: sql for path, sql in found.items() if sql} == {}


def test_the_sql_check_would_see_sql():
    assert sorted(sql_in('rows = db.execute("SELECT 1")\n')) == ["line 1: 'SELECT 1'", "line 1: .execute()"]
    assert sql_in('text = "selected: " + f(x)\n') == []
