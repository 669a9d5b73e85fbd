"""Unit tests: need nothing running (``pytest tests/unit``)."""
