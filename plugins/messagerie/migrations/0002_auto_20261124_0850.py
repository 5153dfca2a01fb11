from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0007_outbox_claims_and_leases'), ('messagerie', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MessageThreadRead',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('messagerie.MessageThread', source_field='thread_id', db_constraint=True, to_field='id', related_name='reads', on_delete=OnDelete.CASCADE)),
                ('agent', fields.ForeignKeyField('core.User', source_field='agent_id', db_constraint=True, to_field='id', related_name='message_thread_reads', on_delete=OnDelete.CASCADE)),
                ('last_read_message_id', fields.IntField(default=0)),
                ('last_read_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'messagerie_thread_read', 'app': 'messagerie', 'unique_together': (('thread', 'agent'),), 'pk_attr': 'id', 'table_description': "Where one agent stopped reading a thread: the service side's read state is per agent (two"},
            bases=['Model'],
        ),
    ]
