"""The package's floors: every tfgen module imports only from its own floor or the floors below.

The floors are drawn in docs/architecture.md; a module that imports upward
(e.g. a model importing the training loop, or the data reaching for a model)
fails here, naming the import.
"""

import ast
import os

from conftest import REPO_ROOT

#: Floor of each part of the package, lowest first (docs/architecture.md).
FLOORS = {
    "tfgen._checks": 0, "tfgen._files": 0, "tfgen._memory": 0, "tfgen.random": 0, "tfgen.labels": 0, "tfgen.locks": 0, "tfgen.images": 0,
    "tfgen.data": 1, "tfgen.layers": 1, "tfgen.losses": 1,
    "tfgen.networks": 2,
    "tfgen.models": 3,
    "tfgen.training": 4, "tfgen.config": 4,
    "tfgen.evaluation": 5,
    "tfgen.plotting": 6,
    "tfgen.export": 7, "tfgen.serving": 7,
    "tfgen.runs": 8, "tfgen.report": 8, "tfgen.evaluate": 8, "tfgen.catalog": 8,
    "tfgen.cli": 9,
}

#: Imports the floors allow but the layout does not: a part that needs one helper of another gets the
#: helper a home both can import (docs/architecture.md). (importer, imported): parts of FLOORS.
FORBIDDEN = (
    ("tfgen.plotting", "tfgen.evaluation"),  # figures get scores passed in (an evaluator), not imported
    ("tfgen.serving", "tfgen.plotting"),  # an export's grid is written by tfgen.images
    ("tfgen.export", "tfgen.plotting"),
)


def _part(module):
    """The part of the package (a key of FLOORS) that `module` belongs to, or None (tfgen itself)."""
    for part in sorted(FLOORS, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part
    return None


def _modules():
    root = os.path.join(REPO_ROOT, "tfgen")
    for folder, _, files in os.walk(root):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                relative = os.path.relpath(path, REPO_ROOT)[: -len(".py")].replace(os.sep, ".")
                yield relative[: -len(".__init__")] if relative.endswith(".__init__") else relative, path


def _imports(path):
    """Every tfgen module `path` imports (at module level or inside functions)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("tfgen"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tfgen"):
            for alias in node.names:  # `from tfgen import data` imports tfgen.data
                yield f"{node.module}.{alias.name}" if node.module == "tfgen" else node.module


def test_every_module_belongs_to_a_floor():
    unplaced = [module for module, _ in _modules() if module != "tfgen" and _part(module) is None]
    assert not unplaced, f"modules on no floor (add them to FLOORS and docs/architecture.md): {unplaced}"


def test_no_module_imports_from_a_higher_floor():
    upward = []
    for module, path in _modules():
        part = _part(module)
        if part is None:  # tfgen/__init__.py: the public API, above everything it re-exports
            continue
        for imported in _imports(path):
            target = _part(imported)
            if target is not None and FLOORS[target] > FLOORS[part]:
                upward.append(f"{module} imports {imported} (floor {FLOORS[part]} -> {FLOORS[target]})")
    assert not upward, "\n".join(upward)


def _forbidden(module, path):
    """The imports of `module` (its source at `path`) that FORBIDDEN rules out."""
    return [f"{module} imports {name}" for importer, imported in FORBIDDEN if _part(module) == importer
            for name in _imports(path) if _part(name) == imported]


def test_no_module_makes_a_forbidden_import():
    found = [line for module, path in _modules() for line in _forbidden(module, path)]
    assert not found, "\n".join(found)


def test_the_check_itself_sees_an_upward_import(tmp_path):
    # A test that can fail: the same analysis on a module importing upward reports it.
    path = tmp_path / "bad.py"
    path.write_text("from tfgen.training import Trainer\n\ndef f():\n    from tfgen import runs\n")
    assert sorted(_imports(str(path))) == ["tfgen.runs", "tfgen.training"]
    assert FLOORS[_part("tfgen.training.trainer")] > FLOORS[_part("tfgen.models.vae")]


def test_the_check_itself_sees_a_forbidden_import(tmp_path):
    # A test that can fail: a figure importing evaluation inside a function is reported; elsewhere it is allowed.
    path = tmp_path / "figure.py"
    path.write_text("def draw():\n    from tfgen.evaluation.clustering import ClusterScoresCallback\n")
    assert _forbidden("tfgen.plotting.figure", str(path)) == ["tfgen.plotting.figure imports tfgen.evaluation.clustering"]
    assert _forbidden("tfgen.runs", str(path)) == []
    assert all(importer in FLOORS and imported in FLOORS for importer, imported in FORBIDDEN)
