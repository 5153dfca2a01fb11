"""RGPD: a household's right of access (export of everything every enabled plugin holds) and right to
erasure (plugins first, then core). Accounting records stay, stripped of what the law does not need."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from core.accounts.models import AuthToken, User
from core.errors import NotFound
from core.files.models import StoredFile
from core.files.service import delete_bytes
from core.households.models import AuditLog, Household
from core.permissions import Actor, own_household_id, require_admin, require_user
from core.plugins import get_host
from core.timeutil import now


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


async def export_household_data(actor: Actor, household_id: int | None = None) -> dict[str, Any]:
    """Families export their own household; admins any household (audited)."""
    user = require_user(actor)
    if actor.is_family:
        own = own_household_id(actor)
        if household_id is not None and household_id != own:
            raise NotFound("foyer")
        household_id = own
    else:
        require_admin(actor)
    if household_id is None or not await Household.exists(id=household_id, erased_at__isnull=True):
        raise NotFound("foyer")
    data = await get_host().rgpd_export(household_id)
    files = await StoredFile.filter(household_id=household_id).values(
        "id", "original_filename", "content_type", "size", "created_at")
    data["files"] = files
    if actor.is_admin:
        await AuditLog.create(actor=user, action="rgpd_export", entity="household", entity_id=household_id,
                              household_id=household_id)
    return _jsonable(data)


async def erase_household_data(actor: Actor, household_id: int) -> None:
    """Admins only: plugins erase their share, then core; files are deleted from disk."""
    user = require_admin(actor)
    household = await Household.get_or_none(id=household_id, erased_at__isnull=True)
    if household is None:
        raise NotFound("foyer")
    host = get_host()
    stored = await StoredFile.filter(household_id=household_id)
    async with in_transaction():
        await host.rgpd_erase(household_id)
        await StoredFile.filter(household_id=household_id).delete()
        members = await User.filter(household_id=household_id).values_list("id", flat=True)
        await AuthToken.filter(user_id__in=list(members)).delete()
        for member_id in members:
            await User.filter(id=member_id).update(email=f"efface-{member_id}@rgpd.invalid", password_hash=None,
                                                   first_name="", last_name="", is_active=False)
        await Household.filter(id=household_id).update(erased_at=now())
        await AuditLog.create(actor=user, action="rgpd_erase", entity="household", entity_id=household_id,
                              household_id=household_id)
    for file in stored:
        delete_bytes(file)
