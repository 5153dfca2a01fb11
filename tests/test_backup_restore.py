"""The backup and restore procedure of docs/deploy.md, run for real on PostgreSQL: `deploy/backup.sh`
dumps the database and archives the storage folder, `deploy/restore.sh` loads both into another
database and folder, and the restored copy holds the same households, invoices and file bytes."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from core.billing.models import Invoice
from core.files.service import read_bytes, store_bytes
from tests.conftest import make_family

ROOT = Path(__file__).parents[1]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _pg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def restore_db(settings: Any) -> Any:
    if not settings.database_url.startswith("postgres"):
        pytest.skip("backup / restore is a PostgreSQL procedure (pg_dump / pg_restore)")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore not installed")
    name = settings.database_url.rsplit("/", 1)[1].split("?")[0] + "_restore"
    return name


async def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, args, env=env, capture_output=True, text=True, timeout=300)


async def _admin(settings: Any, sql: str) -> None:
    conn = await asyncpg.connect(_pg_url(settings.database_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_backup_then_restore_into_another_database(settings, restore_db, tmp_path):
    _, household, kids = await make_family("sauvegarde@example.org", name="SAUVEGARDE")
    stored = await store_bytes("attestation.pdf", PDF, household_id=household.id, uploaded_by_id=None)
    invoice = await Invoice.create(household=household, regie_code="cdc", number="CDC-2027-000042",
                                   period_start=date(2027, 2, 1), period_end=date(2027, 2, 28),
                                   issued_on=date(2027, 3, 1), total_cents=12345)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "PORTAIL_STORAGE": str(settings.storage_path)}
    backup = await _run([str(ROOT / "deploy" / "backup.sh"), str(tmp_path / "backups")], env)
    assert backup.returncode == 0, backup.stderr
    dump, files = backup.stdout.split()
    assert Path(dump).stat().st_mode & 0o077 == 0  # personal data: not readable by others

    # Something happens after the backup: the restore must bring back the state at backup time.
    await Invoice.filter(id=invoice.id).update(total_cents=1)

    await _admin(settings, f'DROP DATABASE IF EXISTS "{restore_db}"')
    await _admin(settings, f'CREATE DATABASE "{restore_db}"')
    target_url = _with_db(settings.database_url, restore_db)
    target_storage = tmp_path / "files-restored"
    try:
        restore = await _run([str(ROOT / "deploy" / "restore.sh"), dump, files, target_url, str(target_storage)], env)
        assert restore.returncode == 0, restore.stderr
        conn = await asyncpg.connect(_pg_url(target_url))
        try:
            names = [r["name"] for r in await conn.fetch("SELECT name FROM core_household ORDER BY id")]
            children = await conn.fetchval("SELECT count(*) FROM core_child WHERE household_id = $1", household.id)
            total = await conn.fetchval("SELECT total_cents FROM core_invoice WHERE number = 'CDC-2027-000042'")
            row = await conn.fetchrow("SELECT stored_name, sha256 FROM core_stored_file WHERE id = $1", stored.id)
        finally:
            await conn.close()
        assert names == ["SAUVEGARDE"] and children == len(kids)
        assert total == 12345
        restored_file = target_storage / row["stored_name"][:2] / row["stored_name"]
        assert restored_file.read_bytes() == PDF == read_bytes(stored)
    finally:
        await _admin(settings, f'DROP DATABASE IF EXISTS "{restore_db}"')
