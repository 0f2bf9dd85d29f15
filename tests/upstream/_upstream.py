"""Load a framework's own test file from the installed wheel with its loss imports pointed at a
lossbridge dialect, so that pytest runs upstream's tests against lossbridge.

Nothing of upstream's code is copied into this repository: the source is read from the installed
package at collection time, its ``import`` statements are rewritten by an AST transform (every
other line keeps its number, so a traceback points at the line in the wheel's file), and the
result is executed as a fresh module whose ``unittest.TestCase`` classes the calling test file
re-exports for pytest to collect.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
import types
import unittest
from collections.abc import Mapping, Sequence
from typing import Any


class UpstreamImportError(RuntimeError):
    """An upstream test file imports a loss module that the rewrite table does not name."""


def source_path(package: str, relpath: str) -> str:
    """The path of ``relpath`` inside the installed ``package`` (not imported for this)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{package} is not installed")
    path = os.path.join(next(iter(spec.submodule_search_locations)), relpath)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{relpath} is not in the installed {package} ({path})")
    return path


class _Rewrite(ast.NodeTransformer):
    def __init__(self, table: Mapping[tuple[str, str], str], guarded: Sequence[str], path: str):
        self.table = table
        self.guarded = tuple(guarded)
        self.path = path
        self.used: set[tuple[str, str]] = set()

    def _guarded(self, module: str) -> bool:
        return any(module == g or module.startswith(g + ".") for g in self.guarded)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        module = node.module or ""
        if not self._guarded(module):
            return node
        out: list[ast.stmt] = []
        for alias in node.names:
            key = (module, alias.name)
            if key not in self.table:
                raise UpstreamImportError(
                    f"{self.path}:{node.lineno}: `from {module} import {alias.name}` is a loss import "
                    "that tests/upstream does not map to lossbridge; add it to the rewrite table"
                )
            self.used.add(key)
            target = self.table[key]
            local = alias.asname or alias.name
            # `local = importlib.import_module("lossbridge.x")` or `... .attr` for "module:attr"
            mod, _, attr = target.partition(":")
            value: ast.expr = ast.Call(
                func=ast.Attribute(value=ast.Name("importlib", ast.Load()), attr="import_module",
                                   ctx=ast.Load()),
                args=[ast.Constant(mod)], keywords=[],
            )
            if attr:
                value = ast.Attribute(value=value, attr=attr, ctx=ast.Load())
            out.append(ast.copy_location(
                ast.Assign(targets=[ast.Name(local, ast.Store())], value=value), node))
        return out

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            if self._guarded(alias.name):
                raise UpstreamImportError(
                    f"{self.path}:{node.lineno}: `import {alias.name}` is a loss import that "
                    "tests/upstream does not map to lossbridge"
                )
        return node


def load(
    package: str,
    relpath: str,
    module_name: str,
    table: Mapping[tuple[str, str], str],
    guarded: Sequence[str],
) -> types.ModuleType:
    """Execute upstream's ``package/relpath`` with the imports of ``table`` rewritten.

    ``table`` maps ``(from_module, name)`` of a ``from M import N`` statement to
    ``"lossbridge.module"`` or ``"lossbridge.module:attribute"``.  Any ``from``/``import`` of a
    module under ``guarded`` that the table does not name raises :class:`UpstreamImportError`,
    so a new upstream release that imports another loss module fails loudly instead of
    silently testing the framework against itself.
    """
    path = source_path(package, relpath)
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    rewrite = _Rewrite(table, guarded, path)
    tree = ast.fix_missing_locations(rewrite.visit(tree))
    tree.body[:0] = ast.parse("import importlib").body  # line 1, like upstream's docstring
    code = compile(tree, path, "exec")
    module = types.ModuleType(module_name)
    module.__file__ = path
    module.__dict__["__upstream_rewritten__"] = sorted(rewrite.used)
    sys.modules[module_name] = module
    exec(code, module.__dict__)
    return module


def test_cases(module: types.ModuleType) -> dict[str, type]:
    """The ``unittest.TestCase`` classes defined in ``module`` (not the ones it imports)."""
    return {
        name: obj for name, obj in vars(module).items()
        if isinstance(obj, type) and issubclass(obj, unittest.TestCase)
        and obj.__module__ == module.__name__
    }
