"""Find: the hotspot analysis engine — counts and harm per unit, KDE, Getis-Ord Gi*, emerging
hotspots, change between periods, concentration (Lorenz / Gini) and near repeat (Knox).

The verbs (`from saferhub.hotspots import gistar`: counts, kde, gistar, emerging, change,
concentration, near_repeat) live in `service.py` and take events or a store query; the statistics
under them are pure functions on arrays in modules of their own, imported by full path
(`from saferhub.hotspots.kde import kde_grid`) because a verb and its statistics module can share
a name; `commands.py` is the thin CLI and `report.py` the HTML reports."""

import sys
import types

VERBS = ("counts", "kde", "gistar", "emerging", "change", "concentration", "near_repeat")
__all__ = list(VERBS)


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # Importing the statistics module `saferhub.hotspots.kde` would bind the package name
        # `kde` to that module; the package name belongs to the verb (the module stays importable
        # by its full path).
        if name in VERBS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


def __getattr__(name):  # lazy, so `saferhub --help` does not load the scientific stack
    if name in VERBS:
        from saferhub.hotspots import service

        return getattr(service, name)
    raise AttributeError(name)


sys.modules[__name__].__class__ = _Package
