"""Tortoise models of the alsh_paj plugin: establishments, modes, periods, units, bookings."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class LineState:
    EN_ATTENTE = "en_attente"
    ACCEPTEE = "acceptee"
    REFUSEE = "refusee"
    DEMANDE_ANNULATION = "demande_annulation"
    ANNULEE = "annulee"
    EXPIREE = "expiree"
    LISTE_ATTENTE = "liste_attente"
    ALL = (EN_ATTENTE, ACCEPTEE, REFUSEE, DEMANDE_ANNULATION, ANNULEE, EXPIREE, LISTE_ATTENTE)
    # States that hold one of the day's places (the counter row counts them).
    HOLDING = (EN_ATTENTE, ACCEPTEE, DEMANDE_ANNULATION)
    # States that still mean "this child comes / wants to come" (a second request is a duplicate).
    ACTIVE = (EN_ATTENTE, ACCEPTEE, DEMANDE_ANNULATION, LISTE_ATTENTE)


class AlshEstablishment(Model):
    """An ALSH or PAJ (e.g. ALSH BRAUD ET ST LOUIS) run by one service of the community."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=150)
    service_code = fields.CharField(max_length=60, db_index=True)
    address = fields.CharField(max_length=300, default="")

    class Meta:
        table = "alsh_establishment"


class AlshMode(Model):
    """A mode d'accueil: MERCREDIS, VACANCES, périscolaire matin / soir, restauration."""

    id = fields.IntField(primary_key=True)
    establishment = fields.ForeignKeyField("alsh_paj.AlshEstablishment", related_name="modes",
                                           on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    kind = fields.CharField(max_length=30, default="mercredis")

    class Meta:
        table = "alsh_mode"


class AlshPeriod(Model):
    """A bookable range of dates with its booking window and cancellation rule."""

    id = fields.IntField(primary_key=True)
    mode = fields.ForeignKeyField("alsh_paj.AlshMode", related_name="periods", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=150)
    start_date = fields.DateField()
    end_date = fields.DateField()
    # ISO weekdays (1 = Monday … 7 = Sunday) on which the period is open.
    weekdays = fields.JSONField(default=list)
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()
    cancel_days_before = fields.IntField(default=2)
    cancel_time = fields.CharField(max_length=5, default="12:00")
    cancel_working_days = fields.BooleanField(default=False)
    min_age = fields.IntField(default=3)
    max_age = fields.IntField(default=12)
    auto_accept = fields.BooleanField(default=False)

    class Meta:
        table = "alsh_period"


class AlshUnit(Model):
    """What is booked on a day (MERCREDI JOURNEE AVEC REPAS…), its capacity and tariff grid."""

    id = fields.IntField(primary_key=True)
    period = fields.ForeignKeyField("alsh_paj.AlshPeriod", related_name="units", on_delete=fields.CASCADE)
    code = fields.CharField(max_length=60)
    name = fields.CharField(max_length=150)
    capacity = fields.IntField(default=10)
    # Tariff grid as a TOML-like table (core.billing.rules.tariff_grid_from_config).
    tariff = fields.JSONField(default=dict)
    # Codes of units of the same period that cannot be booked the same day.
    excludes = fields.JSONField(default=list)
    # Codes of units of which one must be booked the same day (a meal requires a presence).
    requires = fields.JSONField(default=list)
    billing_label = fields.CharField(max_length=150, default="")

    class Meta:
        table = "alsh_unit"
        unique_together = (("period", "code"),)


class AlshClosedDay(Model):
    """A day an establishment is closed (public holidays are added automatically)."""

    id = fields.IntField(primary_key=True)
    establishment = fields.ForeignKeyField("alsh_paj.AlshEstablishment", related_name="closed_days",
                                           on_delete=fields.CASCADE)
    date = fields.DateField()
    label = fields.CharField(max_length=100, default="Fermé")

    class Meta:
        table = "alsh_closed_day"
        unique_together = (("establishment", "date"),)


class AlshDayCounter(Model):
    """Places taken for one unit on one day: the row every booking updates atomically."""

    id = fields.IntField(primary_key=True)
    unit = fields.ForeignKeyField("alsh_paj.AlshUnit", related_name="counters", on_delete=fields.CASCADE)
    date = fields.DateField()
    capacity = fields.IntField()
    taken = fields.IntField(default=0)

    class Meta:
        table = "alsh_day_counter"
        unique_together = (("unit", "date"),)


class AlshSequence(Model):
    """Booking numbers of the community (Réservation n°00005)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=30, unique=True)
    value = fields.IntField(default=0)

    class Meta:
        table = "alsh_sequence"


class AlshBooking(Model):
    """A booking request (Réservation n°…) for one child and one period."""

    id = fields.IntField(primary_key=True)
    number = fields.IntField(unique=True)
    household = fields.ForeignKeyField("core.Household", related_name="alsh_bookings", on_delete=fields.CASCADE)
    child = fields.ForeignKeyField("core.Child", related_name="alsh_bookings", on_delete=fields.CASCADE)
    period = fields.ForeignKeyField("alsh_paj.AlshPeriod", related_name="bookings", on_delete=fields.CASCADE)
    created_by = fields.ForeignKeyField("core.User", related_name="alsh_bookings", null=True,
                                        on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "alsh_booking"


class AlshBookingLine(Model):
    """One (day, unit) of a booking with its own state and attendance."""

    id = fields.IntField(primary_key=True)
    booking = fields.ForeignKeyField("alsh_paj.AlshBooking", related_name="lines", on_delete=fields.CASCADE)
    unit = fields.ForeignKeyField("alsh_paj.AlshUnit", related_name="lines", on_delete=fields.CASCADE)
    date = fields.DateField(db_index=True)
    state = fields.CharField(max_length=24, db_index=True)
    reason = fields.CharField(max_length=300, default="")
    holds_place = fields.BooleanField(default=False)
    # True when cancelled before the deadline (never billed).
    cancelled_in_time = fields.BooleanField(default=False)
    present = fields.BooleanField(null=True)
    absence_justified = fields.BooleanField(default=False)
    # "<child>:<day>:<unit>" while the state is ACTIVE, NULL otherwise (rules.active_key): unique, it
    # keeps a child from holding two active lines for one unit on one day, whatever the race.
    active_key = fields.CharField(max_length=40, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "alsh_line"  # short: PostgreSQL cuts aliases of deep joins at 63 chars


class AlshLineEvent(Model):
    """History of a booking line: state changes with who and when."""

    id = fields.IntField(primary_key=True)
    line = fields.ForeignKeyField("alsh_paj.AlshBookingLine", related_name="events", on_delete=fields.CASCADE)
    from_state = fields.CharField(max_length=24, default="")
    to_state = fields.CharField(max_length=24)
    actor = fields.ForeignKeyField("core.User", related_name="alsh_line_events", null=True,
                                   on_delete=fields.SET_NULL)
    note = fields.CharField(max_length=300, default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "alsh_line_event"


class AlshChildLink(Model):
    """Garde alternée: another household may book for this child (its own bookings, its own bills)."""

    id = fields.IntField(primary_key=True)
    child = fields.ForeignKeyField("core.Child", related_name="alsh_links", on_delete=fields.CASCADE)
    household = fields.ForeignKeyField("core.Household", related_name="alsh_linked_children",
                                       on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "alsh_child_link"
        unique_together = (("child", "household"),)
