"""Messagerie through HTTP: contacts, writing to a service (child, attachments), staff answers with
the mail actually received (with and without the text), read marks and home alerts, staff scoping,
assignment, closing, downloads, RGPD, demo data — and every error path."""

from __future__ import annotations

from datetime import timedelta

from core.accounts.models import Role
from core.files.models import StoredFile
from core.mail.models import OutboxMail
from core.mail.service import send_pending
from core.timeutil import now
from plugins.messagerie.models import MessageMessage, MessageThread
from tests.conftest import make_family, make_staff
from tests.messagerie.conftest import (
    ASSIGN,
    CLOSE,
    CRECHE,
    EXE,
    MARK_READ,
    PDF,
    REOPEN,
    REPLY,
    START,
    THREAD,
    THREADS,
    UNREAD,
)


async def _start(client, body="Bonjour, une question sur l'accueil.", **extra):
    return (await client.ok(START, service=CRECHE, body=body, **extra))["startMessagerieThread"]


async def test_contacts_directory_lists_every_service(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    contacts = (await family.ok("{ messagerieContacts { code name phone email address } }"))["messagerieContacts"]
    names = [c["name"] for c in contacts]
    assert "ALSH et Périscolaire" in names and "Crèche - La Ritournelle" in names
    assert "Service Jeunesse" in names and "Service Petite Enfance (RPE)" in names and "Service Sport" in names
    ritournelle = next(c for c in contacts if c["code"] == CRECHE)
    assert ritournelle["phone"] == "05 56 21 10 30" and ritournelle["email"].startswith("laritournelle@")
    assert await gql.code("{ messagerieContacts { code } }") == "UNAUTHENTICATED"


async def test_family_writes_service_answers_mail_with_body_and_unread_alerts(gql, mailbox):
    user, household, kids = await make_family("parent@example.org")
    agent = await make_staff("agent@example.org", services=[CRECHE])
    family, staff = await gql.as_user(user), await gql.as_user(agent)

    thread = await _start(family, body="  Elena sera absente jeudi.  ", childId=str(kids[0].id))
    assert thread["service"] == CRECHE and thread["serviceName"] == "Crèche - La Ritournelle"
    assert thread["childName"] == "Enfant1" and thread["status"] == "OPEN"
    assert thread["lastMessage"] == {"body": "Elena sera absente jeudi.", "authorSide": "FAMILY"}
    assert thread["awaitingReplySince"] is not None and thread["unansweredMinutes"] == 0

    # The agent sees it, unread and waiting for an answer.
    listed = (await staff.ok(THREADS, unanswered=True))["messagerieThreads"]["items"]
    assert [t["id"] for t in listed] == [thread["id"]] and listed[0]["unreadCount"] == 1
    assert (await staff.ok(UNREAD))["messagerieUnreadCount"] == 1

    for text in ("C'est noté, merci.", "Pensez au carnet de santé."):
        answer = (await staff.ok(REPLY, id=thread["id"], body=text))["replyMessagerieThread"]
        assert answer["authorSide"] == "SERVICE"
    detail = (await staff.ok(THREAD, id=thread["id"]))["messagerieThread"]
    assert detail["awaitingReplySince"] is None and detail["unreadCount"] == 0  # answering = reading
    assert [m["body"] for m in detail["messages"]["items"]] == ["Elena sera absente jeudi.", "C'est noté, merci.",
                                                       "Pensez au carnet de santé."]

    # The family: 2 unread, per thread and in total, and « MESSAGES (2) » on the home page.
    assert (await family.ok(THREAD, id=thread["id"]))["messagerieThread"]["unreadCount"] == 2
    assert (await family.ok(UNREAD))["messagerieUnreadCount"] == 2
    home = (await family.ok("{ home { alerts { code count message } } }"))["home"]["alerts"]
    assert {"code": "unread_messages", "count": 2, "message": "Vous avez 2 messages non lus."} in home

    assert (await family.ok(MARK_READ, id=thread["id"]))["markMessagerieThreadRead"]["unreadCount"] == 0
    assert (await family.ok(UNREAD))["messagerieUnreadCount"] == 0
    home = (await family.ok("{ home { alerts { code } } }"))["home"]["alerts"]
    assert "unread_messages" not in [a["code"] for a in home]

    # One mail per answer, received by the real SMTP server, quoting the answer.
    await send_pending(ignore_schedule=True)
    mails = mailbox.to("parent@example.org")
    assert len(mails) == 2
    assert "La Ritournelle vous a répondu" in mails[0]["Subject"]
    assert "C'est noté, merci." in mailbox.text(mails[0])
    assert f"/messages/{thread['id']}" in mailbox.text(mails[0])


async def test_mail_without_body_when_community_says_so(gql, mailbox, settings, monkeypatch):
    plugin = {**settings.raw.get("plugin", {}), "messagerie": {"mail_includes_body": False}}
    monkeypatch.setitem(settings.raw, "plugin", plugin)
    user, _, _ = await make_family("discret@example.org")
    agent = await make_staff(services=[CRECHE])
    thread = await _start(await gql.as_user(user))
    await (await gql.as_user(agent)).ok(REPLY, id=thread["id"], body="Information confidentielle 4242")
    await send_pending(ignore_schedule=True)
    [mail] = mailbox.to("discret@example.org")
    text = mailbox.text(mail)
    assert "4242" not in text and "confidentielle" not in text
    assert "connectez-vous à votre espace" in text


async def test_family_reply_sets_waiting_again_and_no_mail(gql, mailbox):
    user, _, _ = await make_family()
    agent = await make_staff(services=[CRECHE])
    family, staff = await gql.as_user(user), await gql.as_user(agent)
    thread = await _start(family)
    await staff.ok(REPLY, id=thread["id"], body="Réponse")
    await family.ok(REPLY, id=thread["id"], body="Merci !")
    detail = (await staff.ok(THREAD, id=thread["id"]))["messagerieThread"]
    assert detail["awaitingReplySince"] is not None and detail["unreadCount"] == 1
    assert await OutboxMail.filter(to=user.email).count() == 1  # only the service's answer mails


async def test_start_errors_unknown_service_foreign_child_empty_message_unconfirmed(gql):
    user, _, _ = await make_family("a@example.org")
    _, _, other_kids = await make_family("b@example.org", name="MARTIN")
    family = await gql.as_user(user)

    err = await family.error(START, service="piscine", body="Bonjour")
    assert err["extensions"] == {"code": "UNKNOWN_SERVICE", "field": "service"}
    assert await family.code(START, service=CRECHE, body="Bonjour", childId=str(other_kids[0].id)) == "NOT_FOUND"
    err = await family.error(START, service=CRECHE, body="   \n ")
    assert err["extensions"] == {"code": "EMPTY_MESSAGE", "field": "body"}

    unconfirmed, _, _ = await make_family("c@example.org", confirmed=False, name="NOUVEAU")
    assert await (await gql.as_user(unconfirmed)).code(START, service=CRECHE, body="Bonjour") == "EMAIL_NOT_CONFIRMED"
    assert await gql.code(START, service=CRECHE, body="Bonjour") == "UNAUTHENTICATED"
    assert await MessageThread.all().count() == 0


async def test_empty_reply_refused(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    thread = await _start(family)
    err = await family.error(REPLY, id=thread["id"], body="  ")
    assert err["extensions"] == {"code": "EMPTY_MESSAGE", "field": "body"}
    assert await MessageMessage.all().count() == 1


async def test_attachments_pdf_accepted_renamed_exe_refused_and_download_scoped(gql):
    user, _, _ = await make_family("a@example.org")
    other, _, _ = await make_family("b@example.org", name="MARTIN")
    agent = await make_staff("creche@example.org", services=[CRECHE])
    sport = await make_staff("sport@example.org", services=["sport"])
    family = await gql.as_user(user)

    bad = await family.upload(START, {"service": CRECHE, "body": "Voici le document", "attachments": [None]},
                              {"attachments.0": ("certificat.pdf", EXE, "application/pdf")})
    assert bad["errors"][0]["extensions"] == {"code": "INVALID_FILE_TYPE", "field": "attachments"}
    assert await MessageThread.all().count() == 0 and await StoredFile.all().count() == 0

    ok = await family.upload(START, {"service": CRECHE, "body": "Voici le certificat", "attachments": [None]},
                             {"attachments.0": ("certificat.pdf", PDF, "application/pdf")})
    assert not ok.get("errors"), ok
    thread_id = ok["data"]["startMessagerieThread"]["id"]
    [message] = (await family.ok(THREAD, id=thread_id))["messagerieThread"]["messages"]["items"]
    [attachment] = message["attachments"]
    assert attachment["filename"] == "certificat.pdf"

    response = await family.download(attachment["url"])
    assert response.status_code == 200 and response.content == PDF
    assert (await (await gql.as_user(agent)).download(attachment["url"])).status_code == 200
    for outsider in (other, sport):
        assert (await (await gql.as_user(outsider)).download(attachment["url"])).status_code == 404
    assert (await gql.download(attachment["url"])).status_code == 401

    # Staff answer with an attachment too; a bad one on reply is refused the same way.
    staff = await gql.as_user(agent)
    bad = await staff.upload(REPLY, {"id": thread_id, "body": "Pièce jointe", "attachments": [None]},
                             {"attachments.0": ("facture.pdf", EXE, "application/pdf")})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_FILE_TYPE"
    assert await MessageMessage.all().count() == 1


async def test_another_family_thread_is_not_found_and_unchanged(gql):
    user, _, _ = await make_family("a@example.org")
    other, _, _ = await make_family("b@example.org", name="MARTIN")
    thread = await _start(await gql.as_user(user))
    intruder = await gql.as_user(other)
    assert await intruder.code(THREAD, id=thread["id"]) == "NOT_FOUND"
    assert await intruder.code(REPLY, id=thread["id"], body="Coucou") == "NOT_FOUND"
    assert await intruder.code(MARK_READ, id=thread["id"]) == "NOT_FOUND"
    assert await intruder.code(THREAD, id="999999") == "NOT_FOUND"
    assert (await intruder.ok(THREADS))["messagerieThreads"]["items"] == []
    assert await MessageMessage.all().count() == 1


async def test_agent_of_another_service_sees_nothing_admin_sees_all(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    creche_thread = await _start(family)
    sport_thread = (await family.ok(START, service="sport", body="Inscription basket ?"))["startMessagerieThread"]
    creche_agent = await gql.as_user(await make_staff("creche@example.org", services=[CRECHE]))
    sport_agent = await gql.as_user(await make_staff("sport@example.org", services=["sport"]))
    admin = await gql.as_user(await make_staff("admin@example.org", role=Role.ADMIN))

    assert [t["id"] for t in (await sport_agent.ok(THREADS))["messagerieThreads"]["items"]] == [sport_thread["id"]]
    assert [t["id"] for t in (await creche_agent.ok(THREADS))["messagerieThreads"]["items"]] == [creche_thread["id"]]
    assert {t["id"] for t in (await admin.ok(THREADS))["messagerieThreads"]["items"]} == {creche_thread["id"], sport_thread["id"]}
    for query, variables in ((THREAD, {}), (REPLY, {"body": "Je réponds"}), (CLOSE, {}), (ASSIGN, {}),
                             (MARK_READ, {})):
        assert await sport_agent.code(query, id=creche_thread["id"], **variables) == "NOT_FOUND"
    assert (await sport_agent.ok(UNREAD))["messagerieUnreadCount"] == 1
    assert await MessageMessage.filter(from_staff=True).count() == 0
    assert (await admin.ok(REPLY, id=creche_thread["id"], body="Réponse de l'admin"))["replyMessagerieThread"]


async def test_assign_close_reopen(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    thread = await _start(family)
    agent = await make_staff("creche@example.org", services=[CRECHE])
    colleague = await make_staff("collegue@example.org", services=[CRECHE])
    sport = await make_staff("sport@example.org", services=["sport"])
    staff = await gql.as_user(agent)

    assigned = (await staff.ok(ASSIGN, id=thread["id"], agent=str(colleague.id)))["assignMessagerieThread"]
    assert assigned["assignedToId"] == str(colleague.id)
    err = await staff.error(ASSIGN, id=thread["id"], agent=str(sport.id))
    assert err["extensions"] == {"code": "INVALID_AGENT", "field": "agentId"}
    err = await staff.error(ASSIGN, id=thread["id"], agent=str(user.id))
    assert err["extensions"]["code"] == "INVALID_AGENT"
    assert (await staff.ok(ASSIGN, id=thread["id"], agent=None))["assignMessagerieThread"]["assignedToId"] is None

    # Families cannot run staff actions on their own thread.
    assert await family.code(CLOSE, id=thread["id"]) == "FORBIDDEN"
    assert await family.code(ASSIGN, id=thread["id"], agent=str(agent.id)) == "FORBIDDEN"

    assert (await staff.ok(CLOSE, id=thread["id"]))["closeMessagerieThread"]["status"] == "CLOSED"
    assert (await staff.error(CLOSE, id=thread["id"]))["extensions"]["code"] == "ALREADY_CLOSED"
    err = await family.error(REPLY, id=thread["id"], body="Encore une question")
    assert err["extensions"] == {"code": "THREAD_CLOSED", "field": "threadId"}
    assert [t["id"] for t in (await staff.ok(THREADS, status="CLOSED"))["messagerieThreads"]["items"]] == [thread["id"]]
    assert (await staff.ok(THREADS, status="OPEN"))["messagerieThreads"]["items"] == []
    # a closed set: an unknown status does not pass the schema (MessagerieThreadStatus)
    assert (await staff.error(THREADS, status="bidon"))["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    assert (await staff.ok(REOPEN, id=thread["id"]))["reopenMessagerieThread"]["status"] == "OPEN"
    assert (await family.ok(REPLY, id=thread["id"], body="Encore une question"))["replyMessagerieThread"]


async def test_unanswered_indicator_counts_from_first_unanswered_family_message(gql):
    user, _, _ = await make_family()
    thread = await _start(await gql.as_user(user))
    await MessageThread.filter(id=int(thread["id"])).update(awaiting_reply_since=now() - timedelta(hours=3))
    staff = await gql.as_user(await make_staff(services=[CRECHE]))
    listed = (await staff.ok(THREADS, unanswered=True))["messagerieThreads"]["items"]
    assert listed[0]["unansweredMinutes"] in (180, 181)


async def test_rgpd_export_and_erase(gql, host):
    user, household, _ = await make_family()
    family = await gql.as_user(user)
    await family.upload(START, {"service": CRECHE, "body": "Avec pièce jointe", "attachments": [None]},
                        {"attachments.0": ("certificat.pdf", PDF, "application/pdf")})
    exported = await host.rgpd_export(household.id)
    [thread] = exported["messagerie"]["threads"]
    assert thread["messages"][0]["body"] == "Avec pièce jointe"
    assert thread["messages"][0]["attachments"] == ["certificat.pdf"]
    await host.rgpd_erase(household.id)
    assert await MessageThread.all().count() == 0 and await MessageMessage.all().count() == 0
    assert await StoredFile.all().count() == 0


async def test_demo_data_testbo_has_two_unread_replies(host, gql):
    from core.demo import load_core_demo
    from core.timeutil import today
    from plugins.messagerie.service import load_demo

    await load_core_demo(host.settings, today())
    await load_demo(host.settings, today())
    await load_demo(host.settings, today())  # idempotent
    thread = await MessageThread.get(service=CRECHE).select_related("household")
    assert thread.household.name == "TESTBO"
    assert await MessageThread.all().count() == 1
    assert await MessageMessage.filter(thread=thread, from_staff=True, read_at__isnull=True).count() == 2
