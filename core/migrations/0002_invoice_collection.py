from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Invoice',
            name='collection',
            field=fields.CharField(default='', db_default='', max_length=8),
        ),
        ops.AddField(
            model_name='Invoice',
            name='collection_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AlterField(
            model_name='PayfipOperation',
            name='status',
            field=fields.CharField(default='pending', db_index=True, max_length=16),
        ),
    ]
