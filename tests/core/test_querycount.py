from core.households.models import Child
from tests.conftest import make_family
from tests.querycount import count_queries


async def test_counter_counts_each_statement():
    await make_family(children=3)
    with count_queries() as log:
        await Child.all()
        await Child.all().count()
    assert log.count == 2
