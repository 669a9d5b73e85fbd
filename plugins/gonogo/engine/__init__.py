"""The pytest machinery: binding checks to checklist items, ordering, gating, the
verdict, the rollback trigger and the run's state. It drives the integrations;
it never formats a report."""
