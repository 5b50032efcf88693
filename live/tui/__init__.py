"""The Textual instrument panel: `make_app(session)` builds it (see app.py)."""
