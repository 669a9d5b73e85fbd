"""Least privilege: checks declare the Kubernetes access they need
(``kube_access``), ``gonogo rbac`` prints the ServiceAccount and Roles for
exactly that, and a run whose account lacks any of it is refused before it
changes anything."""
