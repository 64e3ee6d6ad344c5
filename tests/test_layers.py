"""The package's folders are its stages, each importing only the folders below it.

``ORDER`` is the one statement of that order (the design page draws it): a folder may import
itself, the modules at the package's top (``errors``, ``seams``, ``_jit``, ``_kernels``) and the
folders before it in ``ORDER``, never one after it.  Read from the code's own import statements
(those under ``TYPE_CHECKING`` and inside functions too), so a late import cannot hide a climb.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import fastslice

#: The stages, from the bottom up.
ORDER = ("system", "reading", "cutting", "compat", "rendering", "output", "writing", "settings", "run", "report",
         "pages", "batch", "cli")
#: The modules at the top of the package that every folder may use (nothing of a folder imported there).
BASE = ("errors", "seams", "_jit", "_kernels", "_version")
PACKAGE = Path(fastslice.__file__).parent


def _imports(path: Path) -> set[str]:
    """The fastslice modules ``path`` imports, as dotted names under ``fastslice``."""
    module = path.relative_to(PACKAGE).with_suffix("").parts
    here = module[:-1] if path.name != "__init__.py" else module[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
                target = base + (node.module.split(".") if node.module else [])
                names = [target + [a.name] for a in node.names] if not node.module else [target]
            elif node.module and node.module.split(".")[0] == "fastslice":
                names = [node.module.split(".")[1:]]
            else:
                continue
            found.update(".".join(n) for n in names if n)
        elif isinstance(node, ast.Import):
            found.update(".".join(a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == "fastslice")
    return {f for f in found if f}


def _folders() -> list[str]:
    return sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def test_every_folder_has_its_place_in_the_order():
    assert sorted(ORDER) == _folders()


@pytest.mark.parametrize("folder", ORDER)
def test_a_folder_imports_no_folder_above_it(folder):
    allowed = set(ORDER[: ORDER.index(folder) + 1]) | set(BASE) | {""}
    climbs = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for target in sorted(_imports(path)):
            top = target.split(".")[0]
            if top not in allowed:
                climbs.append(f"{path.relative_to(PACKAGE)} imports fastslice.{target}")
    assert not climbs, "a folder imports one above it (tests/test_layers.py: ORDER):\n" + "\n".join(climbs)


def test_the_base_modules_import_no_folder():
    for name in BASE:
        targets = _imports(PACKAGE / f"{name}.py")
        assert all(t.split(".")[0] in BASE for t in targets), (name, targets)
