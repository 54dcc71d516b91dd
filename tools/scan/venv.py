"""Create .venv-scan, the scanners' own virtualenv, from the ``scan`` pins in pyproject.toml (idempotent).

checkov pins old versions of many libraries; installed next to the project's tools, the resolver backtracks to an
old checkov. So the scanners live in their own venv and are called as subprocesses.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCAN_VENV = ROOT / ".venv-scan"
STAMP_NAME = ".installed"


def scan_pins(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The ``scan`` optional-dependency pins; each must be an exact ``==`` pin."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    pins: list[str] = data["project"]["optional-dependencies"]["scan"]
    loose = [p for p in pins if "==" not in p]
    if loose:
        raise ValueError(f"scan pins must be exact (==): {loose}")
    return pins


def site_packages(venv: Path = SCAN_VENV) -> Path:
    """The site-packages directory of a venv."""
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"{venv} has no site-packages; run `make scan-setup`")
    return found[-1]


def scan_bin(tool: str, venv: Path = SCAN_VENV) -> Path:
    """The path of a console script (checkov, cfn-lint, python) in the scan venv."""
    return venv / "bin" / tool


# The stamp says how the venv was installed as well as what: a venv installed before its bytecode was compiled at
# install no longer matches, so it is reinstalled (compiled) instead of kept as it is.
INSTALL_MARK = "# installed with --compile-bytecode"


def _wanted(pins: list[str]) -> str:
    return "\n".join([*pins, INSTALL_MARK]) + "\n"


def is_current(venv: Path = SCAN_VENV) -> bool:
    """Whether ``venv`` exists and was installed, compiled, from exactly the current pins."""
    stamp = venv / STAMP_NAME
    wanted = _wanted(scan_pins())
    return stamp.exists() and stamp.read_text(encoding="utf-8") == wanted and scan_bin("checkov", venv).exists()


def ensure_scan_venv(venv: Path = SCAN_VENV, python: str = sys.executable, quiet: bool = True) -> Path:
    """Create or update the scan venv so it holds exactly the current pins; a no-op when the stamp matches."""
    if is_current(venv):
        return venv
    pins = scan_pins()
    wanted = _wanted(pins)
    stamp = venv / STAMP_NAME
    # uv, which make setup installs beside the project's python, creates and fills it in seconds.
    uv = str(Path(python).parent / "uv")
    # Compiled at install, as the main venv is (Makefile): checkov's import takes 8 s from source, 2.6 s compiled.
    # uv compiles only what it installs, so an existing venv is reinstalled whole (from uv's cache).
    install = [uv, "pip", "install", "--compile-bytecode", "--python", str(scan_bin("python", venv))]
    if scan_bin("python", venv).exists():
        install.append("--reinstall")
    else:
        subprocess.run([uv, "venv", "--quiet", "--python", python, str(venv)], check=True)
    if quiet:
        install.append("--quiet")
    # Only the pins: the project itself is not installed here.
    subprocess.run([*install, *pins], check=True)
    stamp.write_text(wanted, encoding="utf-8")
    return venv


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m tools.scan.venv [--venv PATH]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--venv", type=Path, default=SCAN_VENV)
    args = parser.parse_args(argv)
    ensure_scan_venv(args.venv)
    print(f"scan-setup: {args.venv} holds {', '.join(scan_pins())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
