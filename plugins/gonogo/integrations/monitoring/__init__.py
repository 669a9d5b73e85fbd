"""Prometheus, Alertmanager, Grafana and Loki: queries, the release's metric window,
and whether the monitoring stack itself works."""
