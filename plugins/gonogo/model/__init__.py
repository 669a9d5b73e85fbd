"""The data gonogo reasons about: the checklist, targets, sign-offs, run records and
rollback policy. Pure: no pytest, no client library, no network."""
