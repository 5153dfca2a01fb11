"""Tortoise models of the creche plugin."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Establishment(Model):
    """A crèche, linked to one service of the community (agents of that service manage it)."""

    id = fields.IntField(primary_key=True)
    service_code = fields.CharField(max_length=60, unique=True)
    name = fields.CharField(max_length=150)
    town = fields.CharField(max_length=100, default="")
    capacity = fields.IntField(default=20)
    slot_minutes = fields.IntField(default=30)
    # {"0": ["07:30", "18:30"], …}: weekday (0 = Monday) -> opening and closing time
    opening_hours = fields.JSONField(default=dict)
    # ["2025-12-24", …]: days the crèche is closed
    closure_days = fields.JSONField(default=list)

    class Meta:
        table = "creche_establishment"


class RequestStatus:
    RECEIVED = "recue"
    COMMISSION = "en_commission"
    ACCEPTED = "acceptee"
    REFUSED = "refusee"
    WAITING = "liste_attente"
    ALL = (RECEIVED, COMMISSION, ACCEPTED, REFUSED, WAITING)


class PlaceRequest(Model):
    """Pre-registration (demande de place) of a child in one or more crèches."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="creche_requests", on_delete=fields.CASCADE)
    child = fields.ForeignKeyField("core.Child", related_name="creche_requests", on_delete=fields.CASCADE)
    wished_services = fields.JSONField(default=list)
    start_date = fields.DateField()
    days_per_week = fields.IntField()
    hours_per_week = fields.DecimalField(max_digits=6, decimal_places=2)
    comment = fields.TextField(default="")
    status = fields.CharField(max_length=20, default=RequestStatus.RECEIVED)
    establishment = fields.ForeignKeyField("creche.Establishment", related_name="requests", null=True,
                                           on_delete=fields.SET_NULL)
    waiting_rank = fields.IntField(null=True)
    rank_published = fields.BooleanField(default=False)
    decision_comment = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "creche_place_request"


class ContractStatus:
    DRAFT = "draft"
    SENT = "sent"
    RETURNED = "returned"  # signed copy received, waiting for staff validation
    SIGNED = "signed"
    REVISED = "revised"  # replaced by a later revision
    ENDED = "ended"


class Contract(Model):
    """Contrat d'accueil: numbered per community, one child in one crèche."""

    id = fields.IntField(primary_key=True)
    number = fields.IntField()
    revision = fields.IntField(default=1)
    establishment = fields.ForeignKeyField("creche.Establishment", related_name="contracts", on_delete=fields.RESTRICT)
    household = fields.ForeignKeyField("core.Household", related_name="creche_contracts", on_delete=fields.CASCADE)
    child = fields.ForeignKeyField("core.Child", related_name="creche_contracts", on_delete=fields.CASCADE)
    request = fields.ForeignKeyField("creche.PlaceRequest", related_name="contracts", null=True,
                                     on_delete=fields.SET_NULL)
    start_date = fields.DateField()
    end_date = fields.DateField(null=True)
    # {"0": ["09:15", "17:15"], …}
    schedule = fields.JSONField(default=dict)
    weeks_per_year = fields.IntField()
    hours_per_week = fields.DecimalField(max_digits=6, decimal_places=2)
    monthly_hours = fields.DecimalField(max_digits=7, decimal_places=2)
    resources_monthly_cents = fields.IntField()
    children_for_rate = fields.IntField()
    hourly_fee_cents = fields.IntField()
    monthly_fee_cents = fields.IntField()
    status = fields.CharField(max_length=12, default=ContractStatus.DRAFT)
    signed_document = fields.ForeignKeyField("core.Document", related_name="creche_contracts", null=True,
                                             on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)
    signed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "creche_contract"
        unique_together = (("number", "revision"),)


class OccasionalCare(Model):
    """Accueil occasionnel: a day and hours, accepted by staff within capacity."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="creche_occasionals", on_delete=fields.CASCADE)
    child = fields.ForeignKeyField("core.Child", related_name="creche_occasionals", on_delete=fields.CASCADE)
    establishment = fields.ForeignKeyField("creche.Establishment", related_name="occasionals", on_delete=fields.CASCADE)
    day = fields.DateField()
    start_time = fields.CharField(max_length=5)
    end_time = fields.CharField(max_length=5)
    status = fields.CharField(max_length=10, default="pending")  # pending | accepted | refused | cancelled
    # accueil d'urgence (set by staff when accepting): unknown resources then pay the emergency fee
    emergency = fields.BooleanField(default=False, db_default=False)
    # booked by an agent on the family's behalf (issue 14): who, and why a rule was passed (audited too)
    booked_by = fields.ForeignKeyField("core.User", related_name="creche_occasionals_booked", null=True,
                                       on_delete=fields.SET_NULL)
    override_reason = fields.TextField(default="", db_default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "creche_occasional_care"


class Absence(Model):
    """An absence reported by the family (or a cancellation when inside the delay)."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="creche_absences", on_delete=fields.CASCADE)
    child = fields.ForeignKeyField("core.Child", related_name="creche_absences", on_delete=fields.CASCADE)
    establishment = fields.ForeignKeyField("creche.Establishment", related_name="absences", on_delete=fields.CASCADE)
    start_date = fields.DateField()
    end_date = fields.DateField()
    start_time = fields.CharField(max_length=5)
    end_time = fields.CharField(max_length=5)
    motive = fields.CharField(max_length=20)
    comment = fields.TextField(default="")
    kind = fields.CharField(max_length=12)  # cancellation | absence
    certificate = fields.ForeignKeyField("core.StoredFile", related_name="creche_absences", null=True,
                                         on_delete=fields.SET_NULL)
    status = fields.CharField(max_length=10, default="pending")  # pending | validated | refused
    deductible = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "creche_absence"


class Attendance(Model):
    """Daily attendance recorded by staff: arrival and departure times."""

    id = fields.IntField(primary_key=True)
    child = fields.ForeignKeyField("core.Child", related_name="creche_attendance", on_delete=fields.CASCADE)
    establishment = fields.ForeignKeyField("creche.Establishment", related_name="attendance", on_delete=fields.CASCADE)
    day = fields.DateField()
    arrival = fields.CharField(max_length=5)
    departure = fields.CharField(max_length=5, null=True)
    recorded_by = fields.ForeignKeyField("core.User", related_name="creche_attendance_recorded", null=True,
                                         on_delete=fields.SET_NULL)
    corrected_by = fields.ForeignKeyField("core.User", related_name="creche_attendance_corrected", null=True,
                                          on_delete=fields.SET_NULL)
    corrected_at = fields.DatetimeField(null=True)

    class Meta:
        table = "creche_attendance"
        unique_together = (("child", "day"),)


class AttendanceCorrection(Model):
    """Audit of a change to a recorded attendance: who, when, previous and new times, why."""

    id = fields.IntField(primary_key=True)
    attendance = fields.ForeignKeyField("creche.Attendance", related_name="corrections", on_delete=fields.CASCADE)
    changed_by = fields.ForeignKeyField("core.User", related_name="creche_attendance_corrections", null=True,
                                        on_delete=fields.SET_NULL)
    changed_at = fields.DatetimeField(auto_now_add=True)
    old_arrival = fields.CharField(max_length=5)
    old_departure = fields.CharField(max_length=5, null=True)
    new_arrival = fields.CharField(max_length=5)
    new_departure = fields.CharField(max_length=5, null=True)
    comment = fields.TextField(default="")

    class Meta:
        table = "creche_attendance_correction"


class ResourcesSource:
    JANUARY = "janvier"  # yearly update of the N-2 resources
    AVIS = "avis"  # a new avis d'imposition
    CAF = "caf"  # CAF data (CDAP / situation change)
    OTHER = "autre"
    ALL = (JANUARY, AVIS, CAF, OTHER)
    LABELS = {JANUARY: "Mise à jour annuelle des ressources", AVIS: "Nouvel avis d'imposition",
              CAF: "Données CAF", OTHER: "Changement de situation"}


class FamilyResources(Model):
    """The family's resources in force from `effective_date` (history kept: the audit trail of every
    revision). The fee of a month uses the record in force that month."""

    id = fields.IntField(primary_key=True)
    household = fields.ForeignKeyField("core.Household", related_name="creche_resources", on_delete=fields.CASCADE)
    effective_date = fields.DateField()
    annual_cents = fields.BigIntField(null=True)  # N-2 resources; null: not given (plafond)
    dependent_children = fields.IntField()
    aeeh_children = fields.IntField(default=0)
    source = fields.CharField(max_length=10)
    comment = fields.TextField(default="")
    recorded_by = fields.ForeignKeyField("core.User", related_name="creche_resources_recorded", null=True,
                                         on_delete=fields.SET_NULL)
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "creche_family_resources"


class FeeChange(Model):
    """A revision of a contract's fee from `start` (barème or resources), recorded once and told to the
    family: the audit trail of what the contract costs and why."""

    id = fields.IntField(primary_key=True)
    contract = fields.ForeignKeyField("creche.Contract", related_name="fee_changes", on_delete=fields.CASCADE)
    start = fields.DateField()
    hourly_fee_cents = fields.IntField()
    monthly_fee_cents = fields.IntField()
    previous_monthly_fee_cents = fields.IntField(null=True)
    reasons = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "creche_fee_change"
        unique_together = (("contract", "start"),)
