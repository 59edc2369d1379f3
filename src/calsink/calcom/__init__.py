"""Reading from Cal.com: the `source` kinds, availability checks and booking status guards.

- `calsink.calcom.client.CalcomReader` — paginated, rate-limited, retried reads;
- `calsink.calcom.kinds` — the kinds, their filters, and ``open_calcom_source`` for flows;
- `calsink.calcom.availability.AvailabilityChecker` — ``check_availability: true``;
- `calsink.calcom.guards.StatusGuard` — no cancel, reschedule or confirm bound to fail.
"""
