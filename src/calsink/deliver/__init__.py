"""Delivery: send rendered requests to Cal.com once each, as fast as the budget allows.

The public surface:

- `Engine`, `EngineSettings`, `EngineResult`, `ProgressEvent` — the async engine;
- `Outcome`, `Summary` — the five outcomes and their counts;
- `RateLimiter` — pacing by Cal.com's rate-limit headers or a fixed rate;
- `Transport`, `Response`, `TransportError`, `InsecureURLError` — the one HTTP seam;
- `Backoff`, `classify_status` — the retry policy;
- `stamp`, `fingerprint`, `action_of`, `look_up` — once-only effects (preview calls
  `stamp` so that it shows the ``metadata.calsink_key`` a booking is sent with).
"""

from calsink.deliver.engine import Engine, EngineResult, EngineSettings, ProgressEvent
from calsink.deliver.outcomes import Outcome, Summary
from calsink.deliver.ratelimit import RateLimiter
from calsink.deliver.reconcile import Action, action_of, look_up, stamp
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
    "action_of",
    "classify_status",
    "fingerprint",
    "look_up",
    "stamp",
]
