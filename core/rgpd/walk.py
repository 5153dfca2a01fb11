"""Which Tortoise models hold a household's data, found from the models themselves.

A model belongs to a household when a chain of foreign keys leads from it to `core.Household`
(directly, or through a child, a responsable, a booking, a thread…) or when it carries a
`household_id` column. Foreign keys to `core.User` are followed only when the field is named `user`
(the account the row belongs to): `created_by`, `recorded_by`, `author`… name who did something,
usually staff, not whose data it is. The RGPD export dumps every such model of an app, so a new
model cannot be forgotten (tests/core/test_rgpd_walk.py creates a row in each one).
"""

from __future__ import annotations

from collections import deque
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from tortoise import Tortoise
from tortoise.models import Model

# Credentials are not personal data to hand out: a hash of a password or of a session token in an
# export would only help whoever intercepts it.
SECRET_FIELDS = frozenset({"password_hash", "token_hash"})


def _is_household(model: type[Model]) -> bool:
    return model._meta.app == "core" and model.__name__ == "Household"


def _fk_preference(model: type[Model], name: str) -> tuple[bool, bool, str]:
    """Follow a required link before an optional one, and a record before the file it carries
    (an invoice line leads to its household through its invoice, not through its optional child)."""
    field = model._meta.fields_map[name]
    target = field.related_model
    return bool(field.null), target.__name__ in ("StoredFile", "Document"), name


def household_path(model: type[Model], max_depth: int = 6) -> str | None:
    """The filter path from `model` to the household id (`"household_id"`, `"child__household_id"`,
    `"line__booking__household_id"`), or None when the model holds no household's data."""
    if _is_household(model):
        return "id"
    queue: deque[tuple[type[Model], str, int]] = deque([(model, "", 0)])
    seen: set[type[Model]] = set()
    while queue:
        current, prefix, depth = queue.popleft()
        if current in seen or depth > max_depth:
            continue
        seen.add(current)
        if "household_id" in current._meta.fields_db_projection:
            return f"{prefix}household_id"
        for name in sorted(current._meta.fk_fields, key=lambda n: _fk_preference(current, n)):
            target = current._meta.fields_map[name].related_model
            if target._meta.app == "core" and target.__name__ == "User" and name != "user":
                continue
            if _is_household(target):
                return f"{prefix}{name}_id"
            queue.append((target, f"{prefix}{name}__", depth + 1))
    return None


def app_models(app_label: str) -> list[type[Model]]:
    return list(dict(Tortoise.apps.items()).get(app_label, {}).values())


def household_models(app_label: str) -> dict[type[Model], str]:
    """`{model: path}` of the app's models that hold household data."""
    out: dict[type[Model], str] = {}
    for model in app_models(app_label):
        path = household_path(model)
        if path is not None:
            out[model] = path
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


async def export_tables(app_label: str, household_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every row of every household model of the app, every column but credentials: RGPD art. 15
    (a copy of the data) and art. 20 (in a structured, machine-readable form). One query per model."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for model, path in sorted(household_models(app_label).items(), key=lambda item: item[0].__name__):
        columns = [name for name in model._meta.fields_db_projection if name not in SECRET_FIELDS]
        rows = await model.filter(**{path: household_id}).order_by(model._meta.pk_attr).values(*columns)
        tables[model.__name__] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return tables


def file_references() -> list[tuple[type[Model], str]]:
    """(model, fk column) of every foreign key to a stored file or a document, outside the file and
    document models themselves: a referenced file backs something kept (a signed contract, a signed
    SEPA mandate) and outlives the household's erasure until its own retention ends."""
    refs: list[tuple[type[Model], str]] = []
    for _, app in Tortoise.apps.items():
        for model in app.values():
            for name in model._meta.fk_fields:
                target = model._meta.fields_map[name].related_model
                if target._meta.app != "core" or target.__name__ not in ("StoredFile", "Document"):
                    continue
                if model._meta.app == "core" and model.__name__ in ("Document", "DemarcheAttachment"):
                    continue
                refs.append((model, f"{name}_id"))
    return refs


async def referenced_file_ids() -> set[int]:
    """Stored files still referenced by a kept record (directly, or through a document)."""
    from core.documents.models import Document

    file_ids: set[int] = set()
    document_ids: set[int] = set()
    for model, column in file_references():
        target = model._meta.fields_map[column[:-3]].related_model
        ids = await model.filter(**{f"{column}__isnull": False}).values_list(column, flat=True)
        (document_ids if target.__name__ == "Document" else file_ids).update(int(i) for i in ids)
    if document_ids:
        file_ids.update(await Document.filter(id__in=list(document_ids)).values_list("file_id", flat=True))
    return file_ids
