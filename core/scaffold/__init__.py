"""`portail plugin new NAME`: a separate, pip-installable plugin project, ready to test.

The files come from `core/scaffold/templates/plugin/` (`package/` becomes the plugin's package, `.tmpl`
is dropped, `{{name}}`, `{{Prefix}}`, `{{prefix}}`, `{{NAME}}`, `{{dist}}`, `{{portail_version}}` are
replaced); the initial migration is then written by Tortoise's autodetector, as `portail db
makemigrations` would, so that `portail db migrate` creates the plugin's table at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import keyword
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from core.config import ConfigError

TEMPLATE = Path(__file__).with_name("templates") / "plugin"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,29}$")


class ScaffoldError(ConfigError):
    """A plugin name or a target folder that cannot be used (one French line)."""


def placeholders(name: str) -> dict[str, str]:
    from schema.checks import pascal

    prefix = pascal(name)
    try:
        portail_version = version("portail-famille")
    except PackageNotFoundError:
        portail_version = "0.1.0"
    return {"{{name}}": name, "{{Prefix}}": prefix, "{{prefix}}": prefix[0].lower() + prefix[1:],
            "{{NAME}}": name.upper(), "{{dist}}": "portail-" + name.replace("_", "-"),
            "{{portail_version}}": portail_version}


def check_name(name: str) -> None:
    from core.plugins import available_plugins

    if not NAME_RE.match(name) or name.endswith("_") or "__" in name:
        raise ScaffoldError(f"nom de plugin « {name} » invalide : lettres minuscules, chiffres et « _ », "
                            "2 à 30 caractères, commençant par une lettre (ex. : cantine, ecole_musique)")
    if keyword.iskeyword(name) or name in ("core", "plugins", "schema", "tests") or name in available_plugins():
        raise ScaffoldError(f"nom de plugin « {name} » déjà pris (plugins installés, paquets de Portail)")
    if importlib.util.find_spec(name) is not None:
        raise ScaffoldError(f"un module Python « {name} » existe déjà dans cet environnement : choisissez un autre nom")


def render_project(name: str, target: Path) -> list[Path]:
    """Write the project's files (without the migration); returns them."""
    values = placeholders(name)
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        parts = [name if part == "package" else part for part in relative.parts]
        destination = target.joinpath(*parts)
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        written.append(destination)
    return written


async def _initial_migration(name: str) -> list[Path]:
    from core.migrations_tools import _changes
    from core.plugin import MODEL_MODULES

    config = {
        "connections": {"default": "sqlite://:memory:"},
        "apps": {"core": {"models": MODEL_MODULES, "default_connection": "default", "migrations": "core.migrations"},
                 name: {"models": [f"{name}.models"], "default_connection": "default",
                        "migrations": f"{name}.migrations"}},
        "use_tz": True,
        "timezone": "Europe/Paris",
    }
    return [writer.write() for writer in await _changes(config) if writer.app_label == name]


def initial_migration(name: str, target: Path) -> list[Path]:
    """The plugin's `0001_initial` migration, written by Tortoise's autodetector."""
    sys.path.insert(0, str(target))
    try:
        importlib.invalidate_caches()
        return asyncio.run(_initial_migration(name))
    finally:
        sys.path.remove(str(target))
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def new_plugin(name: str, target: Path) -> list[Path]:
    """Create the plugin project `name` in the folder `target` (absent or empty)."""
    check_name(name)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} existe déjà et n'est pas vide")
    written = render_project(name, target)
    return written + initial_migration(name, target)
