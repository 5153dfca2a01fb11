"""Lines get `active_key`: one active line per (child, day, unit), enforced by the database."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('alsh_paj', '0001_initial'), ('core', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AlshBookingLine',
            name='active_key',
            field=fields.CharField(null=True, unique=True, max_length=40),
        ),
        # Existing active lines get their key (the oldest of any duplicate pair keeps it).
        ops.RunSQL(
            "UPDATE alsh_line SET active_key = "
            "(SELECT CAST(b.child_id AS TEXT) FROM alsh_booking b WHERE b.id = alsh_line.booking_id)"
            " || ':' || CAST(alsh_line.date AS TEXT) || ':' || CAST(alsh_line.unit_id AS TEXT) "
            "WHERE alsh_line.id IN (SELECT MIN(l.id) FROM alsh_line l JOIN alsh_booking b ON b.id = l.booking_id "
            "WHERE l.state IN ('en_attente', 'acceptee', 'demande_annulation', 'liste_attente') "
            "GROUP BY b.child_id, l.date, l.unit_id)",
            reverse_sql="UPDATE alsh_line SET active_key = NULL",
        ),
    ]
