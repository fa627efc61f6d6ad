"""The library's shape, checked: packages along the data flow, no cycles, no hidden imports, small pieces.

ARCHITECTURE.md names the layers; this test reads every module of ggan_lib with ``ast`` (nothing is
imported) and fails on

* an import of ggan_lib inside a function (it hides a dependency and, often, a cycle);
* an import of a later layer (e.g. train/ importing metrics/, or a core package importing book/);
* an import cycle between modules;
* a file over MAX_FILE_LINES or a function over MAX_FUNCTION_LINES lines, unless listed in EXCEPTIONS
  with the reason.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "ggan_lib"

# The data flow, first to last: a module may import its own package and packages before it.
LAYERS = ("config", "io", "audio", "data", "model", "losses", "train", "metrics", "experiments", "book", "cli",
          "__main__")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 50
# "path" or "path:function" -> why it may be longer. Keep this short.
EXCEPTIONS: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:  # ggan_lib/__init__.py: the package root names nothing
        return -1
    return LAYERS.index(parts[1])


def _targets(module: str, node: ast.AST) -> list[str]:
    """The ggan_lib modules an import statement loads (the module itself when a name is a submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "ggan_lib"]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative: resolve against the importing module's package
        base = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        src = ".".join(base + ([node.module] if node.module else []))
    else:
        src = node.module or ""
    if src.split(".")[0] != "ggan_lib":
        return []
    return [f"{src}.{a.name}" if f"{src}.{a.name}" in MODULES else src for a in node.names]


def _imports(module: str) -> set[str]:
    return {t for node in ast.walk(TREES[module]) for t in _targets(module, node)}


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_every_module_is_read():
    assert len(MODULES) > 30 and "ggan_lib.train.ggan" in MODULES and "ggan_lib.config" in MODULES


def test_no_ggan_lib_import_inside_a_function():
    found = []
    for name, tree in TREES.items():
        for fn in _functions(tree):
            for node in ast.walk(fn):
                if _targets(name, node):
                    found.append(f"{MODULES[name].relative_to(PKG.parent)}:{node.lineno} in {fn.name}()")
    assert not found, "imports of ggan_lib inside functions:\n" + "\n".join(sorted(set(found)))


def test_layers_import_only_earlier_layers():
    wrong = []
    for name in MODULES:
        for target in _imports(name):
            if target in MODULES and _layer(target) > _layer(name) and _layer(name) >= 0:
                wrong.append(f"{name} ({LAYERS[_layer(name)]}) imports {target} ({LAYERS[_layer(target)]})")
    assert not wrong, "imports against the data flow (see ARCHITECTURE.md):\n" + "\n".join(sorted(wrong))


def test_every_package_has_a_layer():
    for name in MODULES:
        if name != "ggan_lib":
            assert name.split(".")[1] in LAYERS, f"{name}: add its package to LAYERS and ARCHITECTURE.md"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (as a path), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    graph = {name: {t for t in _imports(name) if t in MODULES and t != name} for name in MODULES}
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_file_and_function_sizes(name):
    path = MODULES[name]
    rel = path.relative_to(PKG.parent).as_posix()
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_FILE_LINES or rel in EXCEPTIONS, f"{rel}: {n_lines} lines (> {MAX_FILE_LINES})"
    for fn in _functions(TREES[name]):
        length = fn.end_lineno - fn.lineno + 1
        key = f"{rel}:{fn.name}"
        assert length <= MAX_FUNCTION_LINES or key in EXCEPTIONS, f"{key}: {length} lines (> {MAX_FUNCTION_LINES})"
