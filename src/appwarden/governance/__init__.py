"""appwarden.governance: the regulator's case chain over stored scan results.

models (records) and migrations/ (schema), db (engine, sessions, upgrade), jobs (scan
executors and recording results), cases (the state machine and the clock), notices
(documents in HTML/PDF/XLSX/CSV), stores (listing review, takedown feed, catalog
snapshots, monitoring), sdk_governance, stats (the funnel), audit (hash chain),
workdays (deadlines). Governance stores findings; it never re-derives them.
"""
