"""The package's imports go one way: no module reaches, however indirectly, back to itself, and no
operator module imports another.

Read from the source (every import statement, those inside functions too), so an import hidden in
a function to dodge a circle at load time still counts as the circle it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "medusa_sync"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the package -> the modules of the package it imports."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module in modules:
                    edges.add(node.module)
                # ``from medusa_sync import names`` imports the module ``medusa_sync.names``.
                edges.update(
                    f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules
                )
        graph[name] = edges - {name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path back to its start for every module that is on a circle."""
    found = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for following in sorted(graph[node]):
                if following == start:
                    found.append([*path, start])
                    stack.clear()
                    break
                if following not in seen:
                    seen.add(following)
                    stack.append((following, [*path, following]))
    return found


def test_the_graph_is_read_from_every_module():
    graph = import_graph()
    assert "medusa_sync.names" in graph and "medusa_sync.operators.fetch_pages" in graph
    assert "medusa_sync.names" in graph["medusa_sync.dag_parts"]


def test_no_module_imports_itself_back():
    assert circles(import_graph()) == []


def test_no_operator_module_imports_another():
    # Operators are told their wiring by the DAG file; what two of them share lives below them, or
    # in the one base class they build on, which is no task.
    graph = import_graph()
    base = "medusa_sync.operators.run_folder_operator"
    operators = {m for m in graph if m.startswith("medusa_sync.operators.") and m != base}
    assert base in graph and base in graph["medusa_sync.operators.compute_diff"]
    assert {(m, other) for m in operators for other in graph[m] & operators} == set()


def test_the_names_import_nothing_of_the_package():
    assert import_graph()["medusa_sync.names"] == set()


def test_a_circle_would_be_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c", "a"],
        ["b", "c", "a", "b"],
        ["c", "a", "b", "c"],
    ]
