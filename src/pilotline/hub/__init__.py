"""Hub: a campaign coordinator's deployment (a different one from any firm's).

One module each: :mod:`~pilotline.hub.disclosure` (primary and secondary cell suppression with
the linear-programming audit), :mod:`~pilotline.hub.benchmark` (the fixed KPI set, submissions and
versioned releases), :mod:`~pilotline.hub.signing` (firm keys and signed envelopes),
:mod:`~pilotline.hub.store` (the hub's own database: its tables and settings), over
:mod:`~pilotline.hub.db` (the connection layer every hub module uses, with a SQLite module for
the embedded hub and a PostgreSQL one for a real hub), :mod:`~pilotline.hub.consent` (the consent
ledger), :mod:`~pilotline.hub.server` (the hub's HTTP API) and :mod:`~pilotline.hub.demo` (a
simulated region).
"""
