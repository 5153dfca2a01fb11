from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='MessageThread',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('household', fields.ForeignKeyField('core.Household', source_field='household_id', db_constraint=True, to_field='id', related_name='message_threads', on_delete=OnDelete.CASCADE)),
                ('service', fields.CharField(db_index=True, max_length=64)),
                ('child', fields.ForeignKeyField('core.Child', source_field='child_id', null=True, db_constraint=True, to_field='id', related_name='message_threads', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharField(default='open', db_index=True, max_length=10)),
                ('assigned_to', fields.ForeignKeyField('core.User', source_field='assigned_to_id', null=True, db_constraint=True, to_field='id', related_name='assigned_message_threads', on_delete=OnDelete.SET_NULL)),
                ('created_by', fields.ForeignKeyField('core.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='created_message_threads', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_message_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('awaiting_reply_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'messagerie_thread', 'app': 'messagerie', 'pk_attr': 'id', 'table_description': 'A conversation between one household and one service of the community.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessageMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('messagerie.MessageThread', source_field='thread_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('core.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='messages_written', on_delete=OnDelete.SET_NULL)),
                ('from_staff', fields.BooleanField(default=False)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'messagerie_message', 'app': 'messagerie', 'pk_attr': 'id', 'table_description': 'One message of a thread, written by the family or by an agent of the service.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MessageAttachment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('messagerie.MessageMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('file', fields.ForeignKeyField('core.StoredFile', source_field='file_id', db_constraint=True, to_field='id', related_name='message_attachments', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'messagerie_attachment', 'app': 'messagerie', 'pk_attr': 'id', 'table_description': 'A file attached to a message (PNG, JPEG or PDF checked from its bytes).'},
            bases=['Model'],
        ),
    ]
