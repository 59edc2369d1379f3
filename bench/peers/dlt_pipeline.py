"""A dlt pipeline: the CSV as a dlt resource, a custom ``@dlt.destination`` that POSTs
each item with a ``requests.Session``, called in batches as dlt's loader decides.

dlt's working directory (pipeline state, load packages) lives in a temporary
directory that is removed afterwards, and dlt's telemetry is off.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from bench.peers._common import bodies, parse_args, report

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def main() -> None:
    args = parse_args("python -m bench.peers.dlt_pipeline")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as workdir:
        os.environ["DLT_DATA_DIR"] = workdir
        os.environ["DLT_PROJECT_DIR"] = workdir
        import dlt
        import requests

        session = requests.Session()
        session.headers.update(args.headers)
        counts = {"sent": 0, "created": 0}

        # dlt would otherwise detect ``start`` as a timestamp and hand back a datetime
        @dlt.resource(
            name="bookings", max_table_nesting=0, columns={"start": {"data_type": "text"}}
        )
        def bookings() -> Any:
            yield from bodies(args.csv)

        @dlt.destination(batch_size=100, name="calcom_bookings")
        def calcom(items: Any, table: Any) -> None:
            for item in items:
                counts["sent"] += 1
                answer = session.post(args.bookings_url, json=item, timeout=30)
                if answer.status_code == 201 and answer.json()["data"]["uid"]:
                    counts["created"] += 1

        pipeline = dlt.pipeline(
            pipeline_name="bench_bookings",
            destination=calcom,
            pipelines_dir=os.path.join(workdir, "pipelines"),
        )
        pipeline.run(bookings())
        session.close()
    report(counts["sent"], counts["created"], time.perf_counter() - started)


if __name__ == "__main__":
    main()
