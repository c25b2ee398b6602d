"""The system libraries Qt's X11 platform plugin needs, found missing before Qt would abort on them.

Qt links its xcb plugin against a dozen small X11 libraries that a minimal Linux install may lack, and loads
libxcb-cursor at run time. Qt's own message for a missing one is a wall of text ending in "Aborted"; this module
names the libraries and the Debian/Ubuntu packages that provide them, and ``make system-deps`` installs them.

    python -m kapmonitor.ui.platform_libs            # list what is missing (exit 1 when something is)
    python -m kapmonitor.ui.platform_libs --install  # apt-get install the packages (as root)
"""

from __future__ import annotations

import ctypes.util
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

# Only these are reported: anything else unresolved is a broken Qt install, not a missing X11 package.
X11_FAMILIES = ("libxcb", "libxkb", "libX", "libSM", "libICE")
# Loaded by Qt with dlopen at run time, so no link-time check sees it.
RUNTIME_LIBRARIES = {"xcb-cursor": "libxcb-cursor.so.0"}


def xcb_plugin() -> Path | None:
    """Qt's X11 platform plugin inside the installed PySide6 (found without importing Qt)."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def unresolved_libraries(path: Path, ldd: str | None = None) -> list[str]:
    """Shared libraries ``path`` needs that the dynamic loader cannot find (``ldd``'s "not found" lines)."""
    ldd = ldd or shutil.which("ldd")
    if ldd is None:
        return []
    try:
        out = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", out, re.MULTILINE)})


def missing_libraries(
    plugin: Path | None = None,
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
    unresolved: Callable[[Path], list[str]] = unresolved_libraries,
) -> list[str]:
    """Sonames the xcb platform needs and this system lacks; empty when X11 windows can open."""
    plugin = plugin or xcb_plugin()
    missing = [soname for name, soname in RUNTIME_LIBRARIES.items() if find_library(name) is None]
    if plugin is not None:
        missing += [lib for lib in unresolved(plugin) if lib.startswith(X11_FAMILIES)]
    return sorted(set(missing))


def debian_package(soname: str) -> str:
    """``libxcb-icccm.so.4`` -> ``libxcb-icccm4``; ``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0``."""
    match = re.fullmatch(r"(lib.+?)\.so\.(\d+)(?:\..*)?", soname)
    if match is None:
        return soname
    name, version = match.groups()
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def problem(missing: list[str]) -> str | None:
    if not missing:
        return None
    packages = " ".join(debian_package(s) for s in missing)
    return (
        f"kapmonitor's X11 window needs system libraries that are missing here: {', '.join(missing)}. "
        f"Install them (Debian/Ubuntu: sudo apt-get install {packages}; or `make system-deps` as root), "
        "or run from a Wayland session."
    )


def main(argv: list[str]) -> int:
    missing = missing_libraries()
    if not missing:
        print("The libraries Qt needs for X11 windows are present.")
        return 0
    if "--install" not in argv:
        print(problem(missing))
        return 1
    packages = [debian_package(s) for s in missing]
    apt = shutil.which("apt-get")
    if apt is None:
        print(problem(missing))
        return 1
    command = [apt, "install", "-y", "--no-install-recommends", *packages]
    print("Installing:", " ".join(packages), flush=True)
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
