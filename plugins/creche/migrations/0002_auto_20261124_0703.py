from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('creche', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='FamilyResources',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('household', fields.ForeignKeyField('core.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='creche_resources', on_delete=OnDelete.CASCADE)),
                ('effective_date', fields.DateField()),
                ('annual_cents', fields.BigIntField(null=True)),
                ('dependent_children', fields.IntField()),
                ('aeeh_children', fields.IntField(default=0)),
                ('source', fields.CharField(max_length=10)),
                ('comment', fields.TextField(default='', unique=False)),
                ('recorded_by', fields.ForeignKeyField('core.User', source_field='recorded_by_id', null=True, db_constraint=True, to_field='id', related_name='creche_resources_recorded', on_delete=OnDelete.SET_NULL)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'creche_family_resources', 'app': 'creche', 'pk_attr': 'id', 'table_description': "The family's resources in force from `effective_date` (history kept: the audit trail of every"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FeeChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('contract', fields.ForeignKeyField('creche.Contract', source_field='contract_id', db_constraint=True, to_field='id', related_name='fee_changes', on_delete=OnDelete.CASCADE)),
                ('start', fields.DateField()),
                ('hourly_fee_cents', fields.IntField()),
                ('monthly_fee_cents', fields.IntField()),
                ('previous_monthly_fee_cents', fields.IntField(null=True)),
                ('reasons', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'creche_fee_change', 'app': 'creche', 'unique_together': (('contract', 'start'),), 'pk_attr': 'id', 'table_description': "A revision of a contract's fee from `start` (barème or resources), recorded once and told to the"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OccasionalCare',
            name='emergency',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
