from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='AlshChildLink',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('child', fields.ForeignKeyField('core.Child', source_field='child_id', db_constraint=True, to_field='id', related_name='alsh_links', on_delete=OnDelete.CASCADE)),
                ('household', fields.ForeignKeyField('core.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='alsh_linked_children', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'alsh_child_link', 'app': 'alsh_paj', 'unique_together': (('child', 'household'),), 'pk_attr': 'id', 'table_description': 'Garde alternée: another household may book for this child (its own bookings, its own bills).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshEstablishment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=150)),
                ('service_code', fields.CharField(db_index=True, max_length=60)),
                ('address', fields.CharField(default='', max_length=300)),
            ],
            options={'table': 'alsh_establishment', 'app': 'alsh_paj', 'pk_attr': 'id', 'table_description': 'An ALSH or PAJ (e.g. ALSH BRAUD ET ST LOUIS) run by one service of the community.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshClosedDay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('establishment', fields.ForeignKeyField('alsh_paj.AlshEstablishment', source_field='establishment_id', db_constraint=True, to_field='id', related_name='closed_days', on_delete=OnDelete.CASCADE)),
                ('date', fields.DateField()),
                ('label', fields.CharField(default='Fermé', max_length=100)),
            ],
            options={'table': 'alsh_closed_day', 'app': 'alsh_paj', 'unique_together': (('establishment', 'date'),), 'pk_attr': 'id', 'table_description': 'A day an establishment is closed (public holidays are added automatically).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshMode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('establishment', fields.ForeignKeyField('alsh_paj.AlshEstablishment', source_field='establishment_id', db_constraint=True, to_field='id', related_name='modes', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('kind', fields.CharField(default='mercredis', max_length=30)),
            ],
            options={'table': 'alsh_mode', 'app': 'alsh_paj', 'pk_attr': 'id', 'table_description': "A mode d'accueil: MERCREDIS, VACANCES, périscolaire matin / soir, restauration."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshPeriod',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('mode', fields.ForeignKeyField('alsh_paj.AlshMode', source_field='mode_id', db_constraint=True, to_field='id', related_name='periods', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=150)),
                ('start_date', fields.DateField()),
                ('end_date', fields.DateField()),
                ('weekdays', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('cancel_days_before', fields.IntField(default=2)),
                ('cancel_time', fields.CharField(default='12:00', max_length=5)),
                ('cancel_working_days', fields.BooleanField(default=False)),
                ('min_age', fields.IntField(default=3)),
                ('max_age', fields.IntField(default=12)),
                ('auto_accept', fields.BooleanField(default=False)),
            ],
            options={'table': 'alsh_period', 'app': 'alsh_paj', 'pk_attr': 'id', 'table_description': 'A bookable range of dates with its booking window and cancellation rule.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshBooking',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('number', fields.IntField(unique=True)),
                ('household', fields.ForeignKeyField('core.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='alsh_bookings', on_delete=OnDelete.CASCADE)),
                ('child', fields.ForeignKeyField('core.Child', source_field='child_id', db_constraint=True, to_field='id', related_name='alsh_bookings', on_delete=OnDelete.CASCADE)),
                ('period', fields.ForeignKeyField('alsh_paj.AlshPeriod', source_field='period_id', db_constraint=True, to_field='id', related_name='bookings', on_delete=OnDelete.CASCADE)),
                ('created_by', fields.ForeignKeyField('core.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='alsh_bookings', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'alsh_booking', 'app': 'alsh_paj', 'pk_attr': 'id', 'table_description': 'A booking request (Réservation n°…) for one child and one period.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshSequence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=30)),
                ('value', fields.IntField(default=0)),
            ],
            options={'table': 'alsh_sequence', 'app': 'alsh_paj', 'pk_attr': 'id', 'table_description': 'Booking numbers of the community (Réservation n°00005).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshUnit',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('period', fields.ForeignKeyField('alsh_paj.AlshPeriod', source_field='period_id', db_constraint=True, to_field='id', related_name='units', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=60)),
                ('name', fields.CharField(max_length=150)),
                ('capacity', fields.IntField(default=10)),
                ('tariff', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('excludes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('requires', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('billing_label', fields.CharField(default='', max_length=150)),
            ],
            options={'table': 'alsh_unit', 'app': 'alsh_paj', 'unique_together': (('period', 'code'),), 'pk_attr': 'id', 'table_description': 'What is booked on a day (MERCREDI JOURNEE AVEC REPAS…), its capacity and tariff grid.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshBookingLine',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('booking', fields.ForeignKeyField('alsh_paj.AlshBooking', source_field='booking_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('unit', fields.ForeignKeyField('alsh_paj.AlshUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='lines', on_delete=OnDelete.CASCADE)),
                ('date', fields.DateField(db_index=True)),
                ('state', fields.CharField(db_index=True, max_length=24)),
                ('reason', fields.CharField(default='', max_length=300)),
                ('holds_place', fields.BooleanField(default=False)),
                ('cancelled_in_time', fields.BooleanField(default=False)),
                ('present', fields.BooleanField(null=True)),
                ('absence_justified', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'alsh_line', 'app': 'alsh_paj', 'pk_attr': 'id', 'table_description': 'One (day, unit) of a booking with its own state and attendance.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshDayCounter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('unit', fields.ForeignKeyField('alsh_paj.AlshUnit', source_field='unit_id', db_constraint=True, to_field='id', related_name='counters', on_delete=OnDelete.CASCADE)),
                ('date', fields.DateField()),
                ('capacity', fields.IntField()),
                ('taken', fields.IntField(default=0)),
            ],
            options={'table': 'alsh_day_counter', 'app': 'alsh_paj', 'unique_together': (('unit', 'date'),), 'pk_attr': 'id', 'table_description': 'Places taken for one unit on one day: the row every booking updates atomically.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AlshLineEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('line', fields.ForeignKeyField('alsh_paj.AlshBookingLine', source_field='line_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('from_state', fields.CharField(default='', max_length=24)),
                ('to_state', fields.CharField(max_length=24)),
                ('actor', fields.ForeignKeyField('core.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='alsh_line_events', on_delete=OnDelete.SET_NULL)),
                ('note', fields.CharField(default='', max_length=300)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'alsh_line_event', 'app': 'alsh_paj', 'pk_attr': 'id', 'table_description': 'History of a booking line: state changes with who and when.'},
            bases=['Model'],
        ),
    ]
