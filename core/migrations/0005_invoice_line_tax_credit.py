from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0004_household_search_text')]

    initial = False

    operations = [
        ops.AddField(
            model_name='InvoiceLine',
            name='care_nature',
            field=fields.CharField(default='', db_default='', max_length=120),
        ),
        ops.AddField(
            model_name='InvoiceLine',
            name='tax_credit_cents',
            field=fields.BigIntField(default=0, db_default=0),
        ),
    ]
