"""Load runs with Locust, kept out of pytest's process.

Locust brings gevent, whose monkey-patching must happen before ssl, threading
and sockets are first imported; inside pytest (with httpx and the Kubernetes
client already loaded) that is too late and hangs or corrupts the run. So the
pytest side (:mod:`gonogo.integrations.load.launch`, :mod:`gonogo.integrations.load.stats`,
:mod:`gonogo.integrations.load.spec`) never imports Locust: it writes a spec file, starts
``python -m gonogo.integrations.load.runner`` (one process, or a master and N workers), and
reads the JSON the runner writes.

This package's ``__init__`` imports nothing, because the runner's package is
imported before the runner itself and must leave gevent the first word.
"""
