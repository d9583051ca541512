"""The import graph: zoo < training < export < benchmarks, no arrow upwards and no circle between modules.

Imports inside functions count too: a lazy import is still a dependency. The deploy side (zoo's hub,
runtime, grid, files, errors, cli, classifier) imports neither TensorFlow nor Keras.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ("zoo", "training", "export", "benchmarks")
DEPLOY_MODULES = ("zoo.hub", "zoo.runtime", "zoo.grid", "zoo.files", "zoo.errors", "zoo.cli", "zoo.classifier",
                  "zoo.__main__", "zoo")


def module_name(path):
    relative = os.path.relpath(path, ROOT)[:-len(".py")].replace(os.sep, ".")
    return relative[:-len(".__init__")] if relative.endswith(".__init__") else relative


def project_modules():
    modules = {}
    for layer in LAYERS:
        for folder, _, files in os.walk(os.path.join(ROOT, layer)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    modules[module_name(path)] = path
    return modules


def imports_of(path, modules):
    """The project modules that `path` imports (the longest known prefix of each imported name)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = module_name(path) if path.endswith("__init__.py") else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


@pytest.fixture(scope="module")
def graph():
    modules = project_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def test_no_layer_imports_a_higher_one(graph):
    upward = [f"{importer} -> {imported}" for importer, targets in graph.items() for imported in targets
              if LAYERS.index(imported.split(".")[0]) > LAYERS.index(importer.split(".")[0])]
    assert upward == []


def test_no_import_cycle(graph):
    # a depth-first search that meets a module already on its own path has found a circle
    done, cycles = set(), []

    def visit(module, path):
        if module in path:
            cycles.append(" -> ".join(path[path.index(module):] + [module]))
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == []


def test_deploy_side_needs_no_tensorflow():
    modules = project_modules()
    for name in DEPLOY_MODULES:
        with open(modules[name], encoding="utf-8") as f:
            tree = ast.parse(f.read())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"tensorflow", "keras", "tf2onnx"}, name
