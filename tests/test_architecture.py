"""The layering, checked from the code's own imports: no cycle, and no room imports a room it must not.

The rules are data, written here first; a test reads `bot/` with `ast` (nothing is imported) and fails naming
each import that breaks one. A deferred import (inside a function) or one under `if TYPE_CHECKING:` counts
like any other: a cycle hidden from the interpreter is still a cycle for the reader.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot"

# the pure core: values, config, hedge maths, risk, execution planning and the engine
CORE = ("bot.domain", "bot.config", "bot.money", "bot.clock", "bot.hedge", "bot.risk", "bot.execution", "bot.core")
# the shell and the process around it
SHELL = ("bot.feeds", "bot.venues", "bot.store", "bot.control", "bot.ops", "bot.report", "bot.exchange_sim")
LIVE = ("bot.live",)
TESTING = ("bot.testing",)
COMMAND_LINE = ("bot.cli",)
# parameter research (`hedgebot sweep`): above the process, like the command line; it runs backtests through bot.live
RESEARCH = ("bot.research",)

# (who, may not import, why)
RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (CORE, SHELL + LIVE + TESTING + COMMAND_LINE, "the core is pure: it imports no shell, no process, no kit"),
    (SHELL, LIVE + TESTING + COMMAND_LINE, "the shell is wired by the live package, never the other way"),
    (LIVE, TESTING + COMMAND_LINE, "the process never depends on test kits or the command line"),
    (("bot.report",), ("bot.exchange_sim", "bot.venues"), "reports read results, not the simulator or a venue"),
    (CORE + SHELL + LIVE + TESTING, RESEARCH, "research sits above the process: only the command line imports it"),
    (RESEARCH, TESTING + COMMAND_LINE, "research never depends on test kits or the command line"),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path, name: str, modules: Collection[str]) -> Iterator[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
            yield from submodules  # `from bot.x import module` imports that module
            if len(submodules) < len(node.names):  # and names defined in the package itself import the package
                yield base


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {target for target in _imports(path, name, modules) if target in modules and target != name}
    return graph


def _within(module: str, rooms: tuple[str, ...]) -> bool:
    return any(module == room or module.startswith(room + ".") for room in rooms)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycle() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize(("who", "forbidden", "why"), RULES, ids=[rule[2] for rule in RULES])
def test_no_room_imports_a_room_its_layer_forbids(who: tuple[str, ...], forbidden: tuple[str, ...], why: str) -> None:
    broken = [
        f"{module} imports {target}"
        for module, targets in sorted(_graph().items())
        if _within(module, who)
        for target in sorted(targets)
        if _within(target, forbidden)
    ]
    assert not broken, f"{why}: " + "; ".join(broken)


def test_nothing_outside_the_kits_imports_a_test_kit() -> None:
    broken = [
        f"{module} imports {target}"
        for module, targets in sorted(_graph().items())
        if not _within(module, TESTING)
        for target in sorted(targets)
        if _within(target, TESTING)
    ]
    assert not broken, "test kits are for tests: " + "; ".join(broken)


def test_the_rules_see_the_imports_they_judge() -> None:
    """A guard on the walker itself: a known import is found, so an empty result above means something."""
    graph = _graph()
    assert "bot.core.engine" in graph["bot.live.daemon"]
    assert "bot.domain" in graph["bot.core.engine"]
