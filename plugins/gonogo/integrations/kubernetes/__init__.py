"""Kubernetes: reads (one list call per kind), writes (server-side apply, patches,
rollbacks) and waits (rollouts), each bounded in time."""
