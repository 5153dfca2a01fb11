#!/usr/bin/env python3
"""Quick start for a fresh machine with only Python 3.11 and pip.

    python3 run.py demo   -> virtualenv, install, migrate, demo data, serve GraphiQL on :8000
    python3 run.py test   -> virtualenv, install, run the whole test suite (pytest args pass through),
                             then the suites of the example plugins (examples/*, installed with pip)

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
# Plugin packages kept in this repository, installed into .venv with the project and tested by
# `run.py test` with their own suite (as their authors would, through the `portail` pytest plugin).
EXAMPLES = [ROOT / "examples" / "cantine"]


def _install_fingerprint() -> str:
    """Reinstall when the dependencies (pyproject.toml) or their pinned versions (constraints.txt) change."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    if CONSTRAINTS.exists():
        digest.update(CONSTRAINTS.read_bytes())
    for example in EXAMPLES:
        digest.update((example / "pyproject.toml").read_bytes())
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
            *(arg for example in EXAMPLES for arg in ("-e", str(example.relative_to(ROOT)))),
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
    code = subprocess.call([str(BIN / "python"), "-m", "pytest", *extra], cwd=ROOT, env=env)
    if any((ROOT / arg.split("::")[0]).exists() for arg in extra if not arg.startswith("-")):
        return code  # tests picked by path: those only
    for example in EXAMPLES:
        print(f"• tests of {example.relative_to(ROOT)}", flush=True)
        code = subprocess.call([str(BIN / "python"), "-m", "pytest", "-q"], cwd=example, env=env) or code
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
