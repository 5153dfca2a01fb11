from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0005_invoice_line_tax_credit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=300)),
                ('window_start', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
            ],
            options={'table': 'core_login_throttle', 'app': 'core', 'pk_attr': 'id', 'table_description': 'Login attempts in the current window, per account (`a:<email>`) or per IP (`i:<ip>`).'},
            bases=['Model'],
        ),
    ]
