"""What people write by hand: a synchronous loop over ``requests`` with one Session
(connection reuse). One request at a time: ``--concurrency`` is accepted and ignored."""

from __future__ import annotations

import time

import requests

from bench.peers._common import bodies, parse_args, report


def main() -> None:
    args = parse_args("python -m bench.peers.requests_loop")
    started = time.perf_counter()
    sent = created = 0
    with requests.Session() as session:
        session.headers.update(args.headers)
        for record in bodies(args.csv):
            sent += 1
            answer = session.post(args.bookings_url, json=record, timeout=30)
            if answer.status_code == 201 and answer.json()["data"]["uid"]:
                created += 1
    report(sent, created, time.perf_counter() - started)


if __name__ == "__main__":
    main()
