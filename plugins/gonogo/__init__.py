"""gonogo: a deployment checklist as a pytest suite, with a GO/NO-GO verdict."""

__version__ = "0.1.0"
