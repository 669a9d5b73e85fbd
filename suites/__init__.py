"""The checklist as tests: one package per checklist stage."""
