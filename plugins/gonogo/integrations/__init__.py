"""Integrations with the systems a release depends on: Kubernetes, HTTP
endpoints, Redis, monitoring, registries, TLS. They know nothing of pytest;
the plugin's fixtures hand them to checks."""
