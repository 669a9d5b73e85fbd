"""End-to-end tests against the local sandbox (``gonogo sandbox up``)."""
