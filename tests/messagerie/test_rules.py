"""Pure rules of the messagerie, with worked examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ValidationError
from plugins.messagerie.rules import (
    Viewer,
    check_attachment_count,
    choose_backend,
    clean_body,
    event_visible_to,
    mail_includes_body,
    next_awaiting_since,
    preview,
    unanswered_minutes,
)

NINE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 9:00 in Paris


def test_body_is_stripped_and_never_empty():
    assert clean_body("  Bonjour  \n") == "Bonjour"
    for empty in ("", "   ", "\n\t", None):
        with pytest.raises(ValidationError) as err:
            clean_body(empty)
        assert err.value.code == "EMPTY_MESSAGE" and err.value.field == "body"
    with pytest.raises(ValidationError) as err:
        clean_body("x" * 10_001)
    assert err.value.code == "MESSAGE_TOO_LONG"


def test_attachment_count_limit():
    check_attachment_count(5)
    with pytest.raises(ValidationError) as err:
        check_attachment_count(6)
    assert err.value.field == "attachments"


def test_preview_is_one_line_and_bounded():
    assert preview("Bonjour,\nmerci") == "Bonjour, merci"
    assert preview("a" * 200, 10) == "aaaaaaaaa…"


def test_waiting_for_an_answer_worked_example():
    # Family writes at 9:00 -> waiting since 9:00; writes again at 10:00 -> still since 9:00.
    since = next_awaiting_since(None, False, NINE)
    assert since == NINE
    assert next_awaiting_since(since, False, NINE + timedelta(hours=1)) == NINE
    # The service answers at 11:00 -> nobody waits.
    assert next_awaiting_since(since, True, NINE + timedelta(hours=2)) is None
    assert unanswered_minutes(NINE, NINE + timedelta(hours=2, minutes=5)) == 125
    assert unanswered_minutes(None, NINE) is None


def test_event_visibility():
    event = {"household_id": 7, "service": "creche_la_ritournelle"}
    assert event_visible_to(event, Viewer(7, frozenset(), False, False))
    assert not event_visible_to(event, Viewer(8, frozenset(), False, False))
    assert event_visible_to(event, Viewer(None, frozenset({"creche_la_ritournelle"}), True, False))
    assert not event_visible_to(event, Viewer(None, frozenset({"sport"}), True, False))
    assert event_visible_to(event, Viewer(None, frozenset(), True, True))


def test_backend_choice():
    assert choose_backend({}, "sqlite://x") == "memory"
    assert choose_backend({}, "postgres://db") == "postgres"
    assert choose_backend({"redis_url": "redis://r"}, "postgres://db") == "redis"
    assert choose_backend({"realtime_backend": "memory", "redis_url": "redis://r"}, "postgres://db") == "memory"
    with pytest.raises(ValueError):
        choose_backend({"realtime_backend": "kafka"}, "sqlite://x")
    with pytest.raises(ValueError):
        choose_backend({"realtime_backend": "postgres"}, "sqlite://x")
    with pytest.raises(ValueError):
        choose_backend({"realtime_backend": "redis"}, "sqlite://x")


def test_mail_includes_body_default_and_false():
    assert mail_includes_body({}) is True
    assert mail_includes_body({"mail_includes_body": False}) is False
    assert mail_includes_body({"mail_includes_body": "non"}) is False
