"""The entry point the Pulumi CLI runs: the Python language host starts ``python -u -m pulumi.policy <engine> <this
folder>``, which runs this file with ``runpy.run_path``.

This folder is loaded as a package under one fixed name, whatever the folder is called (``pulumi policy publish``
ships it and Pulumi Cloud unpacks it under another name) and whatever else is installed: the pack always runs the
rules beside this file, never another copy's. Nothing here imports the project; requirements.txt is all it needs.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PACKAGE = "student_helper_policy_pack"


def load_package(folder: Path) -> ModuleType:
    """``folder`` imported as the package :data:`PACKAGE` (its modules import each other relatively)."""
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None:
        if [str(folder)] != list(getattr(loaded, "__path__", [])):
            raise ImportError(f"{PACKAGE} is already loaded from {list(loaded.__path__)}, not {folder}")
        return loaded
    spec = importlib.util.spec_from_file_location(
        PACKAGE, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"{folder} is not a policy pack folder (no __init__.py)")
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return package


if __name__ == "__main__":
    load_package(Path(__file__).resolve().parent)
    importlib.import_module(f"{PACKAGE}.server").serve()
