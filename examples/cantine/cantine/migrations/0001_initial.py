from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_invoice_collection'), ('core', '0003_household_structured_address'), ('core', '0004_household_search_text'), ('core', '0005_invoice_line_tax_credit'), ('core', '0006_login_throttle'), ('core', '0007_outbox_claims_and_leases')]

    initial = True

    operations = [
        ops.CreateModel(
            name='CantineRegistration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('child', fields.OneToOneField('core.Child', source_field='child_id', db_constraint=True, to_field='id', related_name='cantine_registration', on_delete=OnDelete.CASCADE)),
                ('household', fields.ForeignKeyField('core.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='cantine_registrations', on_delete=OnDelete.CASCADE)),
                ('weekdays', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('allergy', fields.BooleanField(default=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'cantine_registration', 'app': 'cantine', 'pk_attr': 'id', 'table_description': 'One per child; the weekdays are ISO 8601 (1 = Monday … 5 = Friday).'},
            bases=['Model'],
        ),
    ]
