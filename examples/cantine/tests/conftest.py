"""The cantine plugin alone on the demo community, a meal at 4 € billed by the « cdc » régie."""

import pytest


@pytest.fixture(scope="session")
def portail_plugins():
    return ["cantine"]


@pytest.fixture(scope="session")
def portail_config():
    return {"plugin": {"cantine": {"meal_cents": 400, "regie": "cdc"}}}
