"""Observability: Prometheus metrics (metrics.py holds every definition), the /metrics HTTP
server (server.py) and the periodic snapshot of database-held figures (snapshot.py).

Instrumented code imports `hotelbot.observability.metrics` and touches counters only: no I/O,
no allocation per message beyond the counter update (children per hotel are cached by the
caller where it matters)."""
