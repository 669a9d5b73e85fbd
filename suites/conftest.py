"""Suite-wide fixtures. Each stage package keeps its own fixtures in its own
conftest; only what every stage shares lives here."""
