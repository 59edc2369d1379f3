"""Which tests pytest-xdist keeps on one worker.

A test module whose module-scoped fixture is expensive (a Spark, a cluster, a Chromium) is
listed in ``ONE_WORKER`` under a group name: the tests of a group run on one worker, one
after the other, so the fixture starts once per suite (spread over both workers, between
other modules' tests, it was torn down and started again each time a worker came back to
the module) and two Sparks never share the two cores at once. Every other test goes to
whichever worker is free. (pytest-xdist's own
``xdist_group`` mark names its group in the test id, which this pytest no longer lets a
plugin change; hence the list.)
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadGroupScheduling

ONE_WORKER = {
    "tests/adversarial/test_spark.py": "spark",
    "tests/adversarial/test_spark_cluster.py": "spark",
    "tests/ui/test_page_round_two.py": "page-round-two",
    "tests/ui/test_page_e2e.py": "page-e2e",
}


class GroupScheduling(LoadGroupScheduling):
    """``--dist loadgroup`` that also groups the modules of ``ONE_WORKER``."""

    def _split_scope(self, nodeid: str) -> str:
        group = ONE_WORKER.get(nodeid.split("::", 1)[0])
        return group if group is not None else str(super()._split_scope(nodeid))


def make_scheduler(config: Any, log: Any) -> GroupScheduling | None:
    if config.getvalue("dist") != "loadgroup":
        return None
    return GroupScheduling(config, log)
