#!/usr/bin/env python3
"""Quick start for a fresh machine with only Python 3.11 and pip.

    python3 run.py demo   -> virtualenv, install, migrate, demo data, serve GraphiQL on :8000
    python3 run.py test   -> virtualenv, install, run the whole test suite (pytest args pass through)

Every other set-up step lives here so that the README's quick start stays two commands.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".portail-install-stamp"


CONSTRAINTS = ROOT / "constraints.txt"


def _install_fingerprint() -> str:
    """Reinstall when the dependencies (pyproject.toml) or their pinned versions (constraints.txt) change."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    if CONSTRAINTS.exists():
        digest.update(CONSTRAINTS.read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create .venv and install the project (editable, with test extras) at the pinned versions of
    constraints.txt, once per pyproject / constraints pair."""
    if not (BIN / "python").exists():
        print("• creating virtualenv .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _install_fingerprint():
        return
    print("• installing Portail Famille and its dependencies (first run only)", flush=True)
    subprocess.run(
        [
            str(BIN / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
            "--config-settings", "editable_mode=compat", "-e", ".[test]",
            *(["-c", str(CONSTRAINTS)] if CONSTRAINTS.exists() else []),
        ],
        cwd=ROOT,
        check=True,
    )
    STAMP.write_text(_install_fingerprint())


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "help"
    extra = argv[2:]
    if command not in {"demo", "test", "cli"}:
        print(__doc__)
        return 0 if command == "help" else 2
    ensure_environment()
    env = dict(os.environ)
    if command == "demo":
        return subprocess.call([str(BIN / "portail"), "demo", *extra], cwd=ROOT, env=env)
    if command == "cli":
        return subprocess.call([str(BIN / "portail"), *extra], cwd=ROOT, env=env)
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *extra], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
