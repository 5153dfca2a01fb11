"""The application's clock in tests (`core.timeutil`), Tortoise's `auto_now` fields included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from core import timeutil
from core.timeutil import now


class Clock:
    """`clock.set(date(2027, 3, 1))` (10:00 in Paris that day, time flowing from there),
    `clock.set(datetime(..., tzinfo=PARIS), frozen=True)`, `clock.advance(days=3)`.
    The `clock` fixture puts it back after the test."""

    def __init__(self, base: date | None) -> None:
        self.base = base

    def set(self, instant: date | datetime, *, frozen: bool = False) -> datetime:
        timeutil.set_clock(instant, frozen=frozen)
        return now()

    def advance(self, **delta: float) -> datetime:
        frozen = timeutil._frozen is not None
        return self.set(now() + timedelta(**delta), frozen=frozen)

    def reset(self) -> None:
        timeutil.set_clock(self.base)


def install_clock(base: date | None) -> Callable[[], None]:
    """Make `base` (None: the real date) today for the app and Tortoise; returns the undo function."""
    import tortoise.timezone

    original = tortoise.timezone.now
    tortoise.timezone.now = lambda: now() if tortoise.timezone.get_use_tz() else now().replace(tzinfo=None)
    timeutil.set_clock(base)

    def undo() -> None:
        timeutil.set_clock(None)
        tortoise.timezone.now = original

    return undo
