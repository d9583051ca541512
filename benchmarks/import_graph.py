"""The project's import graph, parsed from the source (imports inside functions count too).

    python -m benchmarks.import_graph [--root CHECKOUT]

prints the arrows between the layers zoo < training < export < benchmarks, with how many module imports
each stands for, then every arrow that points upwards (a lower layer importing a higher one) and every
circle between modules. tests/test_structure.py asserts there are none; --root reads another checkout
(e.g. an older commit's `git worktree`) to compare.
"""

import argparse
import ast
import collections
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ("zoo", "training", "export", "benchmarks")


def module_name(path, root=ROOT):
    relative = os.path.relpath(path, root)[:-len(".py")].replace(os.sep, ".")
    return relative[:-len(".__init__")] if relative.endswith(".__init__") else relative


def project_modules(root=ROOT):
    """{module name: path} of every Python file of the four layers under `root`."""
    modules = {}
    for layer in LAYERS:
        for folder, _, files in os.walk(os.path.join(root, layer)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    modules[module_name(path, root)] = path
    return modules


def imports_of(path, modules, root=ROOT):
    """The project modules that `path` imports (the longest known prefix of each imported name)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    name = module_name(path, root)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
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


def import_graph(root=ROOT):
    """{module: the project modules it imports}."""
    modules = project_modules(root)
    return {name: imports_of(path, modules, root) - {name} for name, path in modules.items()}


def upward_arrows(graph):
    return sorted(f"{importer} -> {imported}" for importer, targets in graph.items() for imported in targets
                  if LAYERS.index(imported.split(".")[0]) > LAYERS.index(importer.split(".")[0]))


def cycles(graph):
    """Circles between modules, each found once by a depth-first search that meets a module on its own path."""
    done, found = set(), []

    def visit(module, path):
        if module in path:
            found.append(" -> ".join(path[path.index(module):] + [module]))
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, path + [module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    return found


def main():
    parser = argparse.ArgumentParser(prog="python -m benchmarks.import_graph", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=ROOT, help="the checkout to read (default: this one)")
    root = parser.parse_args().root
    graph = import_graph(root)
    arrows = collections.Counter((importer.split(".")[0], imported.split(".")[0])
                                 for importer, targets in graph.items() for imported in targets)
    print(f"{len(graph)} modules; module imports between layers:")
    for (source, target), count in sorted(arrows.items(), key=lambda item: [LAYERS.index(x) for x in item[0]]):
        if source != target:
            print(f"  {source} -> {target}: {count}")
    upward, circles = upward_arrows(graph), cycles(graph)
    print(f"upward arrows: {len(upward)}")
    for arrow in upward:
        print(f"  {arrow}")
    print(f"circles: {len(circles)}")
    for circle in circles:
        print(f"  {circle}")


if __name__ == "__main__":
    main()
