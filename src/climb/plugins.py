"""Plugins: user code that registers datasets, builders, encoders and references with climb.

One mechanism, shared by the library, every CLI command and suites. A plugin is a Python
module that, when imported, calls climb's public registration functions
(`climb.prepare.register_builder`, `climb.models.register_encoder`,
`climb.catalog.register_entry`, `climb.catalog.register_reference`). climb imports plugins from

* the entry-point group ``climb.plugins`` of installed distributions (``[project.entry-points."climb.plugins"]
  my_lab = "my_lab.climb_plugin"`` in the plugin's pyproject.toml);
* the ``CLIMB_PLUGINS`` environment variable: comma-separated module names;
* a suite's ``plugins:`` list (`load_plugins(["my_module"])`).

An entry point may also name a callable (``"pkg.mod:setup"``): it is called once, with no
arguments. Loading is idempotent. A plugin that fails to import stops with one line naming
it (`PluginError`), never a traceback from deep inside a registry.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from climb.errors import ClimbError

ENTRY_POINT_GROUP = "climb.plugins"
ENV_VAR = "CLIMB_PLUGINS"

_loaded: dict[str, str] = {}  # plugin name -> where it came from (entry point / env / suite)
_loading = False


class PluginError(ClimbError):
    """A plugin could not be imported or failed while registering."""


@lru_cache(maxsize=8)
def _entry_points(search_path: tuple[str, ...]) -> tuple[EntryPoint, ...]:
    """The group's entry points, scanned once per `sys.path` (a scan costs tens of milliseconds)."""
    return tuple(sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name))


def _env_modules() -> list[str]:
    return [m.strip() for m in os.environ.get(ENV_VAR, "").split(",") if m.strip()]


def _import(name: str, target: str, origin: str) -> None:
    module_name, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
        if attr:
            for part in attr.split("."):
                obj = getattr(obj, part)
            obj()
    except Exception as exc:  # noqa: BLE001  (any failure inside user code is reported as the plugin's)
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        raise PluginError(f"plugin {name!r} ({origin}: {target}) failed to load: {detail}") from exc
    _loaded[name] = f"{origin}: {target}"


def load_plugins(modules: Iterable[str] = ()) -> dict[str, str]:
    """Import every plugin not yet imported (entry points, $CLIMB_PLUGINS, then `modules`).

    Returns the loaded plugins (name -> origin). Safe to call from any registry lookup:
    re-entrant calls made while a plugin imports climb's own registries return at once.
    """
    global _loading
    if _loading:
        return dict(_loaded)
    _loading = True
    try:
        for ep in _entry_points(tuple(sys.path)):
            if ep.name not in _loaded:
                _import(ep.name, ep.value, f"entry point of {ep.dist.name if ep.dist else '?'}")
        for module in _env_modules():
            if module not in _loaded:
                _import(module, module, f"${ENV_VAR}")
        for module in modules:
            if module not in _loaded:
                _import(module, module, "suite")
    finally:
        _loading = False
    return dict(_loaded)


def loaded_plugins() -> dict[str, str]:
    """The plugins imported so far (name -> origin)."""
    return dict(_loaded)
