"""Every error calsink raises that a caller may catch, in one place.

`FlowError` (a flow that cannot be used, every problem listed), `RunError` (a flow that
cannot run as configured; carries the CLI's ``exit_code``), `CredentialError` (no key,
or a key store problem), `SourceError` (a source that cannot be read), and the others
below. Each message names what is wrong and what to do; none holds a secret.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calsink.calcom.client import CalcomReadError
    from calsink.calcom.kinds import FilterError
    from calsink.credentials import CredentialError
    from calsink.deadletters import DeadLetterError
    from calsink.flow import FlowError
    from calsink.http.transport import TransportError
    from calsink.http.transport_choice import TransportChoiceError
    from calsink.http.urls import InsecureURLError
    from calsink.journal import JournalError
    from calsink.ledger import FlowBusyError
    from calsink.ledger_pg import LedgerConnectError
    from calsink.render import RenderConfigError
    from calsink.runner import RunError
    from calsink.safe_yaml import YamlError
    from calsink.sandbox.faults import FaultSpecError
    from calsink.sandbox.persistence import StateFileError
    from calsink.sources import SourceError
    from calsink.transform import TransformConfigError

# Where each error lives; imported on first use (some need the HTTP client or a database).
_HOME = {
    "CalcomReadError": "calsink.calcom.client",
    "CredentialError": "calsink.credentials",
    "DeadLetterError": "calsink.deadletters",
    "FaultSpecError": "calsink.sandbox.faults",
    "FilterError": "calsink.calcom.kinds",
    "FlowBusyError": "calsink.ledger",
    "FlowError": "calsink.flow",
    "InsecureURLError": "calsink.http.urls",
    "JournalError": "calsink.journal",
    "LedgerConnectError": "calsink.ledger_pg",
    "RenderConfigError": "calsink.render",
    "RunError": "calsink.runner",
    "SourceError": "calsink.sources",
    "StateFileError": "calsink.sandbox.persistence",
    "TransformConfigError": "calsink.transform",
    "TransportChoiceError": "calsink.http.transport_choice",
    "TransportError": "calsink.http.transport",
    "YamlError": "calsink.safe_yaml",
}

__all__ = [
    "CalcomReadError",
    "CredentialError",
    "DeadLetterError",
    "FaultSpecError",
    "FilterError",
    "FlowBusyError",
    "FlowError",
    "InsecureURLError",
    "JournalError",
    "LedgerConnectError",
    "RenderConfigError",
    "RunError",
    "SourceError",
    "StateFileError",
    "TransformConfigError",
    "TransportChoiceError",
    "TransportError",
    "YamlError",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'calsink.errors' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
