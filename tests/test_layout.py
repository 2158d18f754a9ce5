"""The tree's rules: app/ has a headless half and a Qt half, no import cycle, dependencies point one way."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth of its code (function-level imports included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_headless_app_modules_load_no_qt():
    code = ("import sys, engines.run.pipeline, ssapose.tracking, engines.sinks.files, app.commands, app.bench, app.cli; "
            "app.cli.build_parser(); print(sorted(m for m in sys.modules if m.startswith('PyQt5')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_app_has_no_import_cycle_and_qt_stays_in_app_qt():
    files = {module_name(p): p for p in (ROOT / "app").rglob("*.py")}
    graph = {m: {i for i in imports(p) if i in files and i != m} for m, p in files.items()}
    for m, p in files.items():
        if not m.startswith("app.qt"):
            assert not any(i.startswith("PyQt5") for i in imports(p)), f"{m} imports PyQt5 outside app/qt"
            if m != "app.commands":          # the commands open the window or the --show viewer
                assert not any(i.startswith("app.qt") for i in graph[m]), f"{m} reaches into app/qt"
    seen, stack = set(), []

    def visit(m):
        assert m not in stack, f"import cycle: {' -> '.join(stack[stack.index(m):] + [m])}"
        if m in seen:
            return
        stack.append(m)
        for n in graph[m]:
            visit(n)
        stack.pop()
        seen.add(m)

    for m in graph:
        visit(m)


def test_dependencies_point_one_way():
    """app -> engines -> ssapose <- training; ssapose imports neither Qt nor TensorRT."""
    for layer, banned in (("ssapose", ("app", "engines", "training", "PyQt5", "tensorrt")),
                          ("engines", ("app", "training", "PyQt5")), ("training", ("app", "PyQt5"))):
        for p in (ROOT / layer).rglob("*.py"):
            bad = [i for i in imports(p) if i.split(".")[0] in banned]
            assert not bad, f"{p.relative_to(ROOT)} imports {bad}"
