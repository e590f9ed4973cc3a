"""Lazy public names for packages (PEP 562): ``import package`` stays cheap.

    __getattr__ = lazy_attributes(__name__, {"KeyStore": ".store", "MAGIC": ".backup"})

Each name loads its module on first access and is then cached in the package, so later
look-ups are ordinary attribute reads. Keep a ``TYPE_CHECKING`` block with the same
imports next to it: type checkers and editors read that, never this table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each public name to the
    module that defines it (absolute, or relative to ``package``); ``"module:attr"``
    names an attribute of another name there."""

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(module, package), attribute or name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
