"""The local sandbox: a real Kubernetes control plane with fake nodes, the demo
system, and the services around it, all on loopback, for trying and testing gonogo."""
