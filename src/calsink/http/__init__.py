"""HTTP to Cal.com, below delivery and the read side: both send through these.

- `calsink.http.transport` — `Transport`, the one HTTP seam (the API key, TLS, the URL
  policy), over the wires in `wire_aiohttp` / `wire_reqwest` (`transport_choice` picks one);
- `calsink.http.ratelimit` — `RateLimiter`, pacing by Cal.com's headers or a fixed rate
  (`shared_budget` adds a budget shared by workers);
- `calsink.http.retry` — what is worth sending again (`classify_status`) and the `Backoff`.

Nothing is imported here, so that naming one module loads only that one.
"""
