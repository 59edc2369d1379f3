"""Delivery: send rendered requests to Cal.com once each, as fast as the budget allows.

The public surface:

- `Engine`, `EngineSettings`, `EngineResult`, `ProgressEvent` — the async engine;
- `Outcome`, `Summary` — the five outcomes and their counts;
- `Action`, `fingerprint`, `look_up` — once-only effects (render writes a booking's
  ``metadata.calsink_key``; a request carries its template's action).

The transport, the rate limiter and the retry policy live below, in `calsink.http`.
"""

from calsink.deliver.engine import Engine, EngineResult, EngineSettings, ProgressEvent
from calsink.deliver.outcomes import Outcome, Summary
from calsink.deliver.reconcile import Action, look_up
from calsink.render import fingerprint

__all__ = [
    "Action",
    "Engine",
    "EngineResult",
    "EngineSettings",
    "Outcome",
    "ProgressEvent",
    "Summary",
    "fingerprint",
    "look_up",
]
