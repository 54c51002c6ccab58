"""The shape the code keeps (DESIGN.md's style notes): small modules and functions, no SQL in web/."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("workflow", "web", "schedules")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_longer_than_six_hundred_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in _modules(package)
            if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES}
    assert long == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_is_longer_than_eighty_lines(package):
    long = []
    for path in _modules(package):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert long == []


def test_web_reads_and_writes_through_workflow_and_never_imports_sqlalchemy():
    offenders = []
    for path in _modules("web"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "sqlalchemy"]
    assert offenders == []


def test_the_scheduler_never_imports_the_web_app():
    offenders = [str(p.relative_to(ROOT)) for p in _modules("schedules")
                 if any((isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "web")
                        or (isinstance(n, ast.Import) and any(a.name.split(".")[0] == "web" for a in n.names))
                        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))))]
    assert offenders == []
