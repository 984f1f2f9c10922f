"""A bare outbox relay for the crash tests: ``python -m tests.integration.outbox_worker``.

Settings come from config.toml and the environment (``LINLI_DATABASE__URL``,
``LINLI_WECHAT__API_BASE``, ``LINLI_NOTIFY__LEASE_SECONDS``, ...), as in production. It delivers
batches until nothing is due, prints one line per batch (flushed, so a test can follow it) and
exits 0. A test SIGKILLs it while a batch is in flight.
"""

from __future__ import annotations

import os
import sys

from app.core.config import load_settings
from app.notify.delivery import deliver_batch
from app.runtime import build_runtime


def main() -> int:
    settings = load_settings()
    runtime = build_runtime(settings)
    try:
        print(f"worker {os.getpid()} ready", flush=True)
        while True:
            report = deliver_batch(runtime)
            print(
                f"batch claimed={report.claimed} sent={report.sent} retried={report.retried} "
                f"skipped={report.skipped} dead={report.dead}",
                flush=True,
            )
            if report.claimed == 0:
                return 0
    finally:
        runtime.db.dispose()


if __name__ == "__main__":
    sys.exit(main())
