"""gonogo's own tests; helpers shared between them are in tests.support."""
