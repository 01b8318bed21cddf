"""The layout holds: Discord stays in bot/, nothing imports in a circle, modules stay small,
and the arrows between packages point one way (docs/architecture.md)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "services", "inference", "moderation", "db", "testing")
MAX_LINES = 500
# Who may import whom, among our packages (the worker side of inference imports db).
ALLOWED = {
    "bot": {"bot", "services", "inference", "moderation", "db"},
    "services": {"services", "inference", "moderation", "db"},
    "inference": {"inference", "db"},
    "moderation": {"moderation"},
    "db": {"db"},
    "testing": {"testing", "bot", "services", "inference", "moderation", "db"},
}


def _modules(package: str) -> list[str]:
    names = [package]
    for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
        names.append(info.name)
    return names


def _source_files() -> dict[str, Path]:
    """Every module of ours by dotted name (migrations excluded: they are not imported)."""
    files = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The modules of ours that `path` imports anywhere: at the top, inside functions and
    under TYPE_CHECKING alike (`from pkg import sub` counts as importing the submodule)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    files = _source_files()
    return {name: _imports(path, name, set(files)) for name, path in files.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, if there is any (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_module_imports_in_a_circle():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_the_cycle_check_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycle(graph) == ["a", "b", "c", "a"]


def test_packages_import_only_what_the_design_allows():
    wrong = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if target.split(".")[0] not in ALLOWED[module.split(".")[0]]
    ]
    assert wrong == []


def test_inference_imports_db_only_in_the_worker():
    importers = {
        module
        for module, targets in _graph().items()
        if module.startswith("inference") and any(t.startswith("db") for t in targets)
    }
    assert importers <= {"inference.worker", "inference.previews", "inference.ticket_worker"}, (
        importers
    )


def test_no_source_file_is_over_500_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in [*ROOT.glob("*/**/*.py")]
        if ".venv" not in path.parts and "migrations" not in path.parts
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("package", ["services", "inference", "moderation", "db", "web"])
def test_package_never_imports_discord(package: str) -> None:
    modules = _modules(package)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{package} pulled in discord: {result.stdout}"
    assert len(modules) > 1


def test_the_bot_and_services_import_no_torch():
    code = (
        "import sys, bot.app, bot.cli, services.container\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'diffusers', 'transformers')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


def test_moderation_imports_nothing_of_ours() -> None:
    code = (
        "import sys, moderation\n"
        "ours = [m for m in sys.modules if m.split('.')[0] in "
        "('bot', 'services', 'inference', 'db')]\n"
        "print(ours)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
