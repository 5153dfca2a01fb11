"""Every Tortoise model (core and every enabled plugin) that leads to a household gets a row, and the
row must be in that household's RGPD export, under the section of the plugin that owns the model.
A new model with a household key cannot be forgotten: this test creates a row in it by itself."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from tortoise import Tortoise, fields
from tortoise.models import Model

from core.households.models import Child, Household
from core.plugins import get_host
from core.rgpd.walk import household_path
from tests.conftest import make_family

# Models that lead to a household but must not be in its export, with the reason (write the reason
# here before adding one).
NOT_EXPORTED: dict[str, str] = {
    "PesExport": "a régie's PES bordereau, reached only through its StoredFile (whose household is always null); "
                 "each household's part is in PesExportInvoice, which is exported",
}

_counter = itertools.count(1)


def _value(model: type[Model], name: str, field: fields.Field, marker: str) -> Any:
    n = next(_counter)
    if isinstance(field, fields.BooleanField):
        return False
    if isinstance(field, fields.DecimalField):
        return Decimal(1)
    if isinstance(field, fields.IntField | fields.BigIntField | fields.SmallIntField):
        return n
    if isinstance(field, fields.DatetimeField):
        return datetime(2026, 1, 1, 12, tzinfo=UTC)
    if isinstance(field, fields.DateField):
        return date(2026, 1, 1)
    if isinstance(field, fields.TimeField):
        return time(9, 0)
    if isinstance(field, fields.JSONField):
        return {"marker": marker}
    if isinstance(field, fields.CharField):
        return f"{marker}{n}"[: field.max_length]
    if isinstance(field, fields.TextField):
        return marker
    raise AssertionError(f"{model.__name__}.{name}: no test value for {type(field).__name__}")


async def _make(model: type[Model], household: Household, child: Child, user: Any, cache: dict) -> Model:
    """A row of `model` whose chain of foreign keys leads to `household`."""
    if model is Household:
        return household
    if model is Child:
        return child
    if model.__name__ == "User" and model._meta.app == "core":
        return user
    if model in cache:
        return cache[model]
    values: dict[str, Any] = {}
    meta = model._meta
    for name, field in meta.fields_map.items():
        if name == meta.pk_attr or name in meta.fk_fields or name in meta.backward_fk_fields:
            continue
        if name in meta.o2o_fields or name in meta.m2m_fields or name in meta.backward_o2o_fields:
            continue
        if getattr(field, "source_field", None) or name.endswith("_id") and name[:-3] in meta.fk_fields:
            continue
        if name == "household_id":
            values[name] = household.id
            continue
        if field.generated or getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        # Integers always get a fresh value: a default (a rank, a counter) may sit in a unique key.
        numeric = isinstance(field, fields.IntField | fields.BigIntField | fields.SmallIntField)
        if field.null or (field.default is not None and not numeric):
            continue
        values[name] = _value(model, name, field, f"rgpd-{model.__name__}-")
    path = household_path(model) or ""
    on_path = path.split("__")[0].removesuffix("_id")
    for name in meta.fk_fields:
        fk = meta.fields_map[name]
        target = fk.related_model
        if fk.null and name != on_path:
            continue  # optional links stay empty, but the one leading to the household
        values[name] = await _make(target, household, child, user, cache)
    row = await model.create(**values)
    cache[model] = row
    return row


async def test_every_household_model_is_in_the_export():
    user, household, [child] = await make_family(children=1)
    host = get_host()
    owners = {name: name for name in host.plugin_names()}
    checked: list[str] = []
    cache: dict = {}
    rows: dict[type[Model], Model] = {}
    for _, models in Tortoise.apps.items():
        for model in models.values():
            if household_path(model) is None or model.__name__ in NOT_EXPORTED:
                continue
            rows[model] = await _make(model, household, child, user, cache)
    export = await host.rgpd_export(household.id)
    for model, row in rows.items():
        app_label = model._meta.app
        assert app_label in owners, f"{model.__name__}: app {app_label} has no plugin of that name"
        section = export[app_label]
        table = section.get("tables", {}).get(model.__name__)
        assert table is not None, f"{app_label}.{model.__name__} leads to a household but is not in its export"
        assert row.pk in {r["id"] for r in table}, f"{app_label}.{model.__name__} row {row.pk} missing from export"
        checked.append(f"{app_label}.{model.__name__}")
    # the walk found the models the issue names: démarches, documents, mails, sessions, and each plugin's
    for name in ("core.Demarche", "core.Document", "core.OutboxMail", "core.AuthToken", "core.AuditLog",
                 "core.StoredFile", "core.Invoice", "core.Payment"):
        assert name in checked
    for plugin, model in (("creche", "Contract"), ("alsh_paj", "AlshBookingLine"), ("prelevement", "SepaMandate"),
                          ("messagerie", "MessageMessage")):
        if plugin in host.enabled:
            assert f"{plugin}.{model}" in checked
    # another household's export holds none of these rows
    _, other, _ = await make_family("autre@example.org", name="AUTRE")
    other_export = await host.rgpd_export(other.id)
    for model, row in rows.items():
        table = other_export[model._meta.app].get("tables", {}).get(model.__name__, [])
        assert row.pk not in {r["id"] for r in table} or model is Household


def test_models_without_a_household_key_are_not_exported():
    """Reference data (establishments, periods, units, sequences, news, batches) has no household."""
    names = {f"{m._meta.app}.{m.__name__}" for _, app in Tortoise.apps.items() for m in app.values()
             if household_path(m) is None}
    assert {"core.NewsItem", "core.BillingRun", "core.InvoiceSequence"} <= names
    assert "core.Household" not in names and "core.AuthToken" not in names
