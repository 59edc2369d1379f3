"""The peers calsink is measured against, each a standalone program run as a child process.

Every peer reads the same CSV, builds the same JSON bodies (start, eventTypeId,
attendee{name, email, timeZone}) with the same headers, POSTs them to the same
server at ``/v2/bookings``, reads each answer and takes the booking ``uid`` from it,
and prints one JSON line: ``{"sent": N, "created": N, "failed": N, "elapsed_s": S}``.
"""
