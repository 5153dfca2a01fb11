from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_invoice_collection'), ('core', '0003_household_structured_address'), ('core', '0004_household_search_text'), ('core', '0005_invoice_line_tax_credit'), ('core', '0006_login_throttle'), ('core', '0007_outbox_claims_and_leases'), ('creche', '0002_auto_20261124_0703')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OccasionalCare',
            name='booked_by',
            field=fields.ForeignKeyField('core.User', source_field='booked_by_id', null=True, db_constraint=True, to_field='id', related_name='creche_occasionals_booked', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='OccasionalCare',
            name='override_reason',
            field=fields.TextField(default='', db_default='', unique=False),
        ),
    ]
