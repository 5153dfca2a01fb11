from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_invoice_collection')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Household',
            name='country',
            field=fields.CharField(default='FR', db_default='FR', max_length=2),
        ),
        ops.AddField(
            model_name='Household',
            name='street_name',
            field=fields.CharField(default='', db_default='', max_length=150),
        ),
        ops.AddField(
            model_name='Household',
            name='street_number',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
    ]
