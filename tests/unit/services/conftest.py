from __future__ import annotations

import pytest

from tests.unit.services.job_services import job_services


@pytest.fixture
async def service(migrated_database_url):
    async for services in job_services(migrated_database_url):
        yield services
