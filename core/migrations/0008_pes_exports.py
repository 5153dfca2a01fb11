from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0007_outbox_claims_and_leases')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PesExport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('regie_code', fields.CharField(max_length=40)),
                ('exercice', fields.IntField()),
                ('bordereau_number', fields.IntField()),
                ('period_start', fields.DateField()),
                ('period_end', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('created_by', fields.ForeignKeyField('core.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='pes_exports', on_delete=OnDelete.SET_NULL)),
                ('invoices_count', fields.IntField()),
                ('total_cents', fields.BigIntField()),
                ('file', fields.ForeignKeyField('core.StoredFile', source_field='file_id', db_constraint=True, to_field='id', related_name='pes_exports', on_delete=OnDelete.RESTRICT)),
                ('file_name', fields.CharField(max_length=120)),
                ('left_out', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'core_pes_export', 'app': 'core', 'unique_together': (('regie_code', 'exercice', 'bordereau_number'),), 'pk_attr': 'id', 'table_description': 'One PES V2 ORMC file built for a régie (docs/pes.md): its bordereau, period, author, file.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PesExportInvoice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('export', fields.ForeignKeyField('core.PesExport', source_field='export_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('invoice', fields.ForeignKeyField('core.Invoice', source_field='invoice_id', unique=True, db_constraint=True, to_field='id', related_name='pes_export_items', on_delete=OnDelete.RESTRICT)),
                ('piece_number', fields.IntField()),
                ('amount_cents', fields.BigIntField()),
            ],
            options={'table': 'core_pes_export_invoice', 'app': 'core', 'pk_attr': 'id', 'table_description': 'An invoice carried by a PES export: unique, so an invoice is handed to the comptable once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PesSequence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('regie_code', fields.CharField(max_length=40)),
                ('exercice', fields.IntField()),
                ('next_number', fields.IntField(default=1)),
            ],
            options={'table': 'core_pes_sequence', 'app': 'core', 'unique_together': (('regie_code', 'exercice'),), 'pk_attr': 'id', 'table_description': 'Next PES bordereau number (IdBord) of a régie for an exercice: unique per budget, exercice and'},
            bases=['Model'],
        ),
    ]
