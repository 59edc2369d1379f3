"""Delivery: send rendered requests to Cal.com once each, as fast as the budget allows.

The public surface:

- `Engine`, `EngineSettings`, `EngineResult`, `ProgressEvent` — the async engine;
- `Outcome`, `Summary` — the five outcomes and their counts;
- `RateLimiter` — pacing by Cal.com's rate-limit headers or a fixed rate;
- `Transport`, `Response`, `TransportError`, `InsecureURLError` — the one HTTP seam;
- `Backoff`, `classify_status` — the retry policy;
- `Action`, `fingerprint`, `look_up` — once-only effects (render writes a booking's
  ``metadata.calsink_key``; a request carries its template's action).
"""

from calsink.deliver.engine import Engine, EngineResult, EngineSettings, ProgressEvent
from calsink.deliver.outcomes import Outcome, Summary
from calsink.deliver.ratelimit import RateLimiter
from calsink.deliver.reconcile import Action, look_up
from calsink.deliver.retry import Backoff, Verdict, classify_status
from calsink.deliver.transport import InsecureURLError, Response, Transport, TransportError
from calsink.render import fingerprint

__all__ = [
    "Action",
    "Backoff",
    "Engine",
    "EngineResult",
    "EngineSettings",
    "InsecureURLError",
    "Outcome",
    "ProgressEvent",
    "RateLimiter",
    "Response",
    "Summary",
    "Transport",
    "TransportError",
    "Verdict",
    "classify_status",
    "fingerprint",
    "look_up",
]
