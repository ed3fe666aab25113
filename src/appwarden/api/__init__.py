"""appwarden.api: the REST API over the governance service (``create_app`` in app.py)."""
