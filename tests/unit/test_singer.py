"""The Meltano Singer SDK's own standard target tests, run against target-calsink.

The SDK feeds its sample streams (camel-case names, arrays, nested objects, schema and
key changes, a record before its schema, an invalid schema, ...) through the target. One
catch-all flow takes every stream; ``dry_run`` renders and checks each record without
sending, so the suite runs offline. A record without the flow's key (`id`) is rejected
and reported, which the SDK's tests accept as long as the target carries on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class

from calsink.singer import TargetCalsink

_STATE = Path(tempfile.mkdtemp(prefix="calsink-singer-suite-"))

CATCH_ALL = {
    "version": 1,
    "name": "singer-sdk-suite",
    "source": {"path": "-"},
    "destination": {
        "base_url": "http://127.0.0.1:9",
        "manual": {"method": "POST", "url": "http://127.0.0.1:9/v2/webhooks"},
    },
    "delivery": {"key": ["id"]},
    "ledger": str(_STATE / "ledger.db"),
    "dead_letters": str(_STATE / "dead-letters.jsonl"),
}

TestTargetCalsink = get_target_test_class(
    TargetCalsink, config={"flow": CATCH_ALL, "dry_run": True}
)
