"""Retention purge with a fixed clock: what is past its period goes, what is recent stays; a dry run
counts and deletes nothing. Durations are the defaults of core/rgpd/rules.py (docs/rgpd.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.accounts.models import AuthToken, LoginFailure, TokenPurpose, User
from core.billing.models import Invoice, Payment
from core.demarches.models import Demarche
from core.documents.models import Document
from core.files.models import StoredFile
from core.files.service import _path, store_bytes
from core.households.models import AuditLog, Child, Household
from core.mail.models import OutboxMail
from core.plugins import get_host
from core.rgpd.rules import RetentionPolicy, months_before
from core.rgpd.service import run_retention
from tests.conftest import make_family

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
TODAY = date(2030, 6, 15)
OLD = datetime(2027, 1, 10, 12, tzinfo=UTC)
RECENT = datetime(2030, 6, 1, 12, tzinfo=UTC)


def test_policy_defaults_cutoffs_and_config_errors():
    policy = RetentionPolicy()
    # 10 years after the end of the year of issue: on 15 June 2030, invoices of 2019 and before go
    assert policy.invoices_cutoff(TODAY) == date(2020, 1, 1)
    assert policy.cutoff_months(TODAY, policy.sepa_mandate_months) == date(2029, 4, 15)
    assert months_before(date(2030, 3, 31), 1) == date(2030, 2, 28)
    assert RetentionPolicy(messages_months=6).messages_months == 6


def _demo_config(**rgpd: object) -> dict:
    import tomllib

    from core.config import BUNDLED_DEMO_CONFIG

    raw = tomllib.loads(BUNDLED_DEMO_CONFIG.read_text(encoding="utf-8"))
    raw["rgpd"] = {**raw.get("rgpd", {}), **rgpd}
    return raw


def test_rgpd_section_is_typed_and_strict(tmp_path):
    from core.config import ConfigError, load_settings, settings_from_dict

    assert settings_from_dict(_demo_config(messages_months=6), tmp_path).rgpd.messages_months == 6
    assert settings_from_dict(_demo_config(), tmp_path).rgpd.invoices_years == 10
    with pytest.raises(ConfigError, match="message_months"):
        settings_from_dict(_demo_config(message_months=6), tmp_path)
    with pytest.raises(ConfigError, match="audit_months"):
        settings_from_dict(_demo_config(audit_months=-1), tmp_path)
    from core.config import BUNDLED_DEMO_CONFIG

    env = {"DATABASE_URL": f"sqlite://{tmp_path / 'x.sqlite3'}", "PORTAIL_RGPD__AUDIT_MONTHS": "6"}
    assert load_settings(BUNDLED_DEMO_CONFIG, environ=env).rgpd.audit_months == 6


async def _stored(household: Household, user: User, created: datetime) -> StoredFile:
    stored = await store_bytes("piece.pdf", PDF, household_id=household.id, uploaded_by_id=user.id)
    await StoredFile.filter(id=stored.id).update(created_at=created)
    return stored


async def _scene() -> dict:
    """Old and recent items of every core category, in two households."""
    user, household, [kid] = await make_family(children=1)
    active_user, active, [active_kid] = await make_family("actif@example.org", children=1, name="ACTIF")
    await User.filter(id=active_user.id).update(last_login_at=RECENT)
    s: dict = {"household": household, "active": active, "user": user}
    for k, when in (("old", OLD), ("recent", RECENT)):
        expiry = when if k == "old" else datetime(2030, 7, 1, tzinfo=UTC)  # the recent session still runs
        token = await AuthToken.create(user=user, purpose=TokenPurpose.SESSION, token_hash=f"h-{k}",
                                       expires_at=expiry)
        failure = await LoginFailure.create(email=user.email, ip="10.0.0.1")
        await LoginFailure.filter(id=failure.id).update(created_at=when)
        mail = await OutboxMail.create(to=user.email, subject="Facture", text_body="x", household_id=household.id,
                                       status="sent", sent_at=when)
        await OutboxMail.filter(id=mail.id).update(created_at=when)
        audit = await AuditLog.create(action="medical_read", entity="child", household_id=household.id)
        await AuditLog.filter(id=audit.id).update(at=when)
        demarche = await Demarche.create(household=household, type_code="demenagement", status="accepted",
                                         processed_at=when)
        stored = await _stored(household, user, when)
        document = await Document.create(household=household, type_code="justificatif_domicile", file=stored)
        await Document.filter(id=document.id).update(uploaded_at=when)
        s[k] = {"token": token, "failure": failure, "mail": mail, "audit": audit, "demarche": demarche,
                "document": document, "file": stored}
    pending = await OutboxMail.create(to=user.email, subject="En attente", text_body="x", status="pending")
    await OutboxMail.filter(id=pending.id).update(created_at=OLD)
    s["pending_mail"] = pending
    # health data: the first household left (no login, file unchanged since 2027); the other is active
    for child in (kid, active_kid):
        await Child.filter(id=child.id).update(allergies="arachide", doctor_name="Dr Martin", updated_at=OLD)
    s["left_child"], s["active_child"] = kid, active_kid
    # invoices: 2019 is past 10 years on 15 June 2030, 2020 is not
    s["old_invoice"] = await Invoice.create(number="F-2019", regie_code="st_caprais", household=household,
                                            issued_on=date(2019, 5, 1), period_start=date(2019, 4, 1),
                                            period_end=date(2019, 4, 30), total_cents=1000, paid_cents=1000,
                                            status="soldee")
    await Payment.create(invoice=s["old_invoice"], amount_cents=1000, method="cheque", paid_on=date(2019, 5, 2))
    s["kept_invoice"] = await Invoice.create(number="F-2020", regie_code="st_caprais", household=active,
                                             issued_on=date(2020, 3, 1), period_start=date(2020, 2, 1),
                                             period_end=date(2020, 2, 29), total_cents=1000, status="soldee",
                                             paid_cents=1000)
    # the first household was erased in 2019: its debtor record stays only while its invoice does
    await Household.filter(id=household.id).update(erased_at=datetime(2019, 6, 1, tzinfo=UTC))
    return s


async def _counts() -> dict[str, int]:
    return {m.__name__: await m.all().count() for m in (AuthToken, LoginFailure, OutboxMail, AuditLog, Demarche,
                                                      Document, StoredFile, Invoice, Payment)}


async def test_dry_run_counts_and_deletes_nothing():
    s = await _scene()
    before = await _counts()
    done = await run_retention(TODAY, dry_run=True)
    assert done["core.tokens"] == 1 and done["core.login_failures"] == 1 and done["core.sent_mails"] == 1
    assert done["core.audit_entries"] == 1 and done["core.demarches"] == 1 and done["core.documents"] == 1
    assert done["core.health_data"] == 1 and done["core.invoices"] == 1 and done["core.payments"] == 1
    assert done["core.erased_debtors"] == 1
    assert await _counts() == before
    assert _path(s["old"]["file"].stored_name).exists()
    assert (await Child.get(id=s["left_child"].id)).allergies == "arachide"
    assert (await Household.get(id=s["household"].id)).name == "DUPONT"


async def test_retention_purges_old_items_and_keeps_recent_ones():
    s = await _scene()
    done = await run_retention(TODAY, dry_run=False)
    old, recent = s["old"], s["recent"]
    for model, key in ((AuthToken, "token"), (LoginFailure, "failure"), (OutboxMail, "mail"), (AuditLog, "audit"),
                       (Demarche, "demarche"), (Document, "document")):
        assert not await model.exists(id=old[key].id), key
        assert await model.exists(id=recent[key].id), key
    assert await OutboxMail.exists(id=s["pending_mail"].id)  # not sent yet: never purged
    # the old document's file is gone from storage, the recent one is there
    assert not await StoredFile.exists(id=old["file"].id) and not _path(old["file"].stored_name).exists()
    assert _path(recent["file"].stored_name).exists()
    # health data of the child who left is cleared, the active household's stays
    left = await Child.get(id=s["left_child"].id)
    assert (left.allergies, left.doctor_name) == ("", "")
    assert (await Child.get(id=s["active_child"].id)).allergies == "arachide"
    # invoices of 2019 with their payment go; 2020 stays; the erased debtor is anonymised at last
    assert not await Invoice.exists(id=s["old_invoice"].id) and not await Payment.all().exists()
    assert await Invoice.exists(id=s["kept_invoice"].id)
    assert (await Household.get(id=s["household"].id)).name == "ANONYME"
    assert (await Household.get(id=s["active"].id)).name == "ACTIF"
    assert done["core.files"] >= 1
    # idempotent: a second run finds nothing more
    again = await run_retention(TODAY, dry_run=False)
    assert sum(again.values()) == 0


async def test_maintenance_runs_the_retention_purge():
    s = await _scene()
    done = await get_host().maintenance(TODAY)
    assert done["rgpd.core.tokens"] == 1
    assert not await AuthToken.exists(id=s["old"]["token"].id)


async def test_plugins_purge_their_own_data():
    host = get_host()
    if not {"messagerie", "prelevement", "creche"} <= set(host.enabled):
        pytest.skip("needs messagerie, prelevement and creche")
    from plugins.creche.models import Absence, Attendance, Establishment
    from plugins.messagerie.models import MessageMessage, MessageThread
    from plugins.prelevement.models import MandateStatus, SepaMandate
    from tests.prelevement.conftest import IBAN_LBP, make_mandate

    user, household, [kid] = await make_family(children=1)
    threads = {}
    for k, when in (("old", OLD), ("recent", RECENT)):
        thread = await MessageThread.create(household=household, service="creche_la_ritournelle", last_message_at=when)
        await MessageMessage.create(thread=thread, author=user, body="Bonjour")
        threads[k] = thread
    # stopped mandates: last debit in January 2029 (past 14 months on 15 June 2030) and in June 2029
    gone = await make_mandate(household, "cdc", status=MandateStatus.STOPPED, last_collection_on=date(2029, 1, 5))
    kept = await make_mandate(household, "st_caprais", status=MandateStatus.STOPPED, iban=IBAN_LBP,
                              last_collection_on=date(2029, 6, 5))
    active = await make_mandate(household, "autre", status=MandateStatus.ACTIVE,
                                last_collection_on=date(2027, 1, 5))
    est = await Establishment.all().first()
    if est is None:
        from plugins.creche import service as creche_service

        est = await creche_service.establishment("creche_la_ritournelle")
    certificate = await store_bytes("certificat.pdf", PDF, household_id=household.id, uploaded_by_id=user.id)
    await StoredFile.filter(id=certificate.id).update(created_at=OLD)
    old_absence = await Absence.create(household=household, child=kid, establishment=est, start_date=date(2026, 1, 5),
                                       end_date=date(2026, 1, 6), start_time="08:00", end_time="18:00",
                                       motive="maladie", kind="absence", certificate=certificate)
    sick = await Absence.create(household=household, child=kid, establishment=est, start_date=date(2029, 3, 5),
                                end_date=date(2029, 3, 6), start_time="08:00", end_time="18:00", motive="maladie",
                                kind="absence", certificate=certificate)
    old_day = await Attendance.create(child=kid, establishment=est, day=date(2026, 1, 5), arrival="08:30")
    new_day = await Attendance.create(child=kid, establishment=est, day=date(2030, 6, 2), arrival="08:30")

    dry = await run_retention(TODAY, dry_run=True)
    assert dry["messagerie.threads"] == 1 and dry["prelevement.mandates"] == 1
    assert dry["creche.attendance"] == 1 and dry["creche.absences"] == 1 and dry["creche.absence_certificates"] == 2
    assert await MessageThread.all().count() == 2 and await SepaMandate.all().count() == 3

    await run_retention(TODAY, dry_run=False)
    assert not await MessageThread.exists(id=threads["old"].id) and await MessageThread.exists(id=threads["recent"].id)
    assert not await SepaMandate.exists(id=gone.id)
    assert await SepaMandate.exists(id=kept.id) and await SepaMandate.exists(id=active.id)
    assert not await Attendance.exists(id=old_day.id) and await Attendance.exists(id=new_day.id)
    assert not await Absence.exists(id=old_absence.id)
    assert (await Absence.get(id=sick.id)).certificate_id is None  # health proof gone, absence kept
    assert not _path(certificate.stored_name).exists()  # nothing points to it any more: purged by core


def test_cli_dry_run_shows_counts_then_purge_deletes(tmp_path):
    """`portail rgpd retention --dry-run` as an operator runs it, over the demo data."""
    import sqlite3
    import subprocess

    from tests.test_server_and_migrations import PORTAIL, _env

    env = _env(tmp_path)
    demo = subprocess.run([PORTAIL, "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=240)
    assert demo.returncode == 0, demo.stderr[-2000:]
    db = tmp_path / "portail.sqlite3"

    def attendance() -> int:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM creche_attendance").fetchone()[0]

    before = attendance()
    assert before > 0
    # 2031-06-15: the demo's attendance of 2026 is past the 48 months of `activity_months`
    dry = subprocess.run([PORTAIL, "rgpd", "retention", "--dry-run", "--today", "2031-06-15"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "creche.attendance" in dry.stdout and "Simulation" in dry.stdout
    assert "TESTBO" not in dry.stdout and "@" not in dry.stdout  # counts only, no personal data
    assert attendance() == before
    done = subprocess.run([PORTAIL, "rgpd", "retention", "--today", "2031-06-15"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert attendance() == 0
