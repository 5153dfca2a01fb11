"""Pure rules of the canteen: which weekdays may be booked, which days are meals, what a month costs."""

from datetime import date, timedelta

from core.errors import ValidationError


def check_weekdays(weekdays: list[int]) -> list[int]:
    """ISO weekdays of a school week (1 = Monday … 5 = Friday), at least one: sorted, without duplicates.

    >>> check_weekdays([4, 1, 4])
    [1, 4]
    """
    if not weekdays or any(d not in range(1, 6) for d in weekdays):
        raise ValidationError("Choisissez les jours de cantine du lundi (1) au vendredi (5).",
                              code="CANTINE_INVALID_WEEKDAYS", field="weekdays")
    return sorted(set(weekdays))


def meal_days(start: date, end: date, weekdays: list[int], closed: set[date]) -> list[date]:
    """Days of [start, end] on the registered weekdays, minus public and school holidays (`closed`)."""
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [d for d in days if d.isoweekday() in weekdays and d not in closed]
