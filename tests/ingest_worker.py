"""Run one ingestion job in a separate process (the 'killed mid-job' test kills this with SIGKILL).

    DATA_DIR=... OLLAMA_HOST=... python -m tests.ingest_worker KB_ID USER_ID

Prints 'job <id>' once the job exists, then 'progress <chunks>' on each progress event.
"""

from __future__ import annotations

import asyncio
import sys

from config import Settings
from models import IngestJob
from services.core import db
from services.wiring import build_services


async def main(kb_id: int, user_id: int) -> None:
    settings = Settings()
    await db.open_database(settings.db_url)
    services = build_services(settings)
    services.ingest.batch_size = 2
    services.ingest.flush_rows = 20
    services.ingest.progress.subscribe(lambda p: print(f'progress {p.chunks_done}', flush=True))
    job = await IngestJob.create(kb_id=kb_id, user_id=user_id)
    assert await services.ingest.claims.claim(job.id)  # as `start` does: this process holds the job while it runs
    print(f'job {job.id}', flush=True)
    await services.ingest.run(job.id)
    print('finished', flush=True)
    await services.vectors.close()
    await db.close_database()


if __name__ == '__main__':
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
