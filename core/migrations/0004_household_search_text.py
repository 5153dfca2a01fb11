from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


async def index_existing_households(apps, schema_editor):
    """Fill the staff search index of the households that exist before this migration."""
    from core.households.rules import search_key

    client = schema_editor.client
    mark = (lambda n: f"${n}") if client.capabilities.dialect == "postgres" else (lambda n: "?")
    parts: dict[int, list[str]] = {}
    for row in (await client.execute_query(
            "SELECT id, name, email, allocataire_number FROM core_household WHERE erased_at IS NULL"))[1]:
        parts[row["id"]] = [row["name"], row["email"], row["allocataire_number"]]
    for table, columns in (("core_responsable", "first_name, last_name, email"),
                           ("core_child", "first_name, last_name")):
        for row in (await client.execute_query(f"SELECT household_id, {columns} FROM {table}"))[1]:
            if row["household_id"] in parts:
                parts[row["household_id"]] += [v for k, v in dict(row).items() if k != "household_id"]
    for household_id, values in parts.items():
        await client.execute_query(f"UPDATE core_household SET search_text = {mark(1)} WHERE id = {mark(2)}",
                                   [search_key(*values), household_id])


class Migration(migrations.Migration):
    dependencies = [('core', '0003_household_structured_address')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Household',
            name='search_text',
            field=fields.CharField(default='', db_default='', max_length=2000),
        ),
        ops.RunPython(index_existing_households),
    ]
