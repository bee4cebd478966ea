"""The workflow modules' code objects, compiled once per process and shared by every import.

Temporal's sandbox imports a workflow's module afresh for every workflow it runs
(and again for every replay), so that one run's module state can never leak into
another's. Each of those imports unmarshals the module's code objects again: for
`workflows/order.py` about 36 KB per cached order, and the time to build them.
Code objects are immutable: every fresh import can be handed the same ones, and
still gets a module, globals and functions of its own. `share_workflow_code`
installs a finder that does that for the `workflows` package only.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import CodeType, ModuleType
from typing import ClassVar

#: The packages whose modules the sandbox imports afresh per workflow.
SHARED = ("workflows.",)


class _SharedCodeLoader(importlib.machinery.SourceFileLoader):
    codes: ClassVar[dict[str, CodeType]] = {}

    def get_code(self, fullname: str) -> CodeType:
        code = self.codes.get(self.path)
        if code is None:
            compiled = super().get_code(fullname)
            assert compiled is not None  # a source file always compiles to code or raises
            code = self.codes.setdefault(self.path, compiled)
        return code


class _SharedCodeFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(SHARED):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        spec.loader = _SharedCodeLoader(spec.loader.name, spec.loader.path)
        return spec


def share_workflow_code() -> None:
    """Install the finder (once per process)."""
    if not any(isinstance(finder, _SharedCodeFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SharedCodeFinder())
