"""Where emulation lives (issues 22 §6, 26 §1): one package that export and benchmark both use;
the export never imports ``albert_edge.benchmark``, and emulation imports neither of them."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "albert_edge"


def _imports(path: Path) -> set[str]:
    """Every module an ``import`` / ``from … import`` in ``path`` names, at any depth (function-local too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offenders(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        bad = sorted(n for n in _imports(path) if n.startswith(forbidden))
        if bad:
            found[str(path.relative_to(PACKAGE.parent))] = bad
    return found


def test_no_module_under_export_imports_benchmark():
    assert _offenders("export", ("albert_edge.benchmark",)) == {}


def test_emulation_imports_neither_benchmark_nor_the_export():
    # the guest script runs inside qemu with numpy and LiteRT only: it must not import albert_edge at all
    assert _offenders("emulation", ("albert_edge.benchmark", "albert_edge.export")) == {}
    assert not [n for n in _imports(PACKAGE / "emulation" / "arm_guest.py") if n.startswith("albert_edge")]


def test_export_and_benchmark_both_use_emulation():
    export = set().union(*(_imports(p) for p in (PACKAGE / "export").rglob("*.py")))
    benchmark = set().union(*(_imports(p) for p in (PACKAGE / "benchmark").rglob("*.py")))
    assert any(n.startswith("albert_edge.emulation") for n in export)
    assert any(n.startswith("albert_edge.emulation") for n in benchmark)


def test_the_checker_sees_a_function_local_import(tmp_path):
    """The check must be able to fail: a lazy import inside a function is still an import."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from albert_edge.benchmark import arm\n    return arm\n", encoding="utf-8")
    assert "albert_edge.benchmark" in _imports(probe)
