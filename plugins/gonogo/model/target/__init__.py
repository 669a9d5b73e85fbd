"""The target file's model, one module per concern.

Other layers, the suites and the tests import from here, never from the
modules inside, so the package can be rearranged without touching them.
What is re-exported is exactly what they use: the :class:`Target` and
:func:`load_target`, the section and workflow types checks read, the secret
reference, and the two helpers (:func:`dotted_get`, :func:`is_secret_name`).
"""

from __future__ import annotations

from gonogo.model.target.environment import (
    Environment,
    LoadProfile,
    LoadThresholds,
    RollbackCriteria,
    Webhook,
)
from gonogo.model.target.load import load_target
from gonogo.model.target.root import Target
from gonogo.model.target.sections import ExternalApi, Service
from gonogo.model.target.values import SecretRef, is_secret_name
from gonogo.model.target.workflows import Step, Workflow, dotted_get

__all__ = [
    "Environment",
    "ExternalApi",
    "LoadProfile",
    "LoadThresholds",
    "RollbackCriteria",
    "SecretRef",
    "Service",
    "Step",
    "Target",
    "Webhook",
    "Workflow",
    "dotted_get",
    "is_secret_name",
    "load_target",
]
