"""Loads a tuned profile with tuned's own loader and merger, and prints the merged profile as JSON.

Usage: merge.py TUNED_PYTHON_DIR PROFILE PROFILE_DIR...

TUNED_PYTHON_DIR holds tuned's Python package (Debian's tuned package, extracted by scripts/setup.sh
into .tools/tuned). The merged profile is what the tuned daemon would apply: for each unit its type,
whether it is enabled and its options (a script unit's `script` is the list of scripts tuned runs,
parents first), and the effective kernel command line the bootloader plugin would write.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

from tuned.profiles.factory import Factory  # noqa: E402
from tuned.profiles.loader import Loader  # noqa: E402
from tuned.profiles.locator import Locator  # noqa: E402
from tuned.profiles.merger import Merger  # noqa: E402
from tuned.profiles.variables import Variables  # noqa: E402

variables = Variables()
loader = Loader(Locator(sys.argv[3:]), Factory(), Merger(), None, variables)
profile = loader.load([sys.argv[2]])
units = {}
for name, unit in profile.units.items():
    options = {key: value for key, value in unit.options.items()}
    units[name] = {"type": unit.type, "enabled": bool(unit.enabled), "options": options}
# The bootloader plugin concatenates every cmdline* option (tuned/plugins/plugin_bootloader.py).
boot = units.get("bootloader", {}).get("options", {})
cmdline = " ".join(
    variables.expand(value).lstrip("+")
    for key, value in boot.items()
    if key.startswith("cmdline") and value.strip()
)
print(json.dumps({"units": units, "cmdline": cmdline}))
