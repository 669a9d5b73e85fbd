"""Helpers the pre-deployment and staging checks share: the same ones the
ready-made checks of gonogo.checks use, under the names the suites know."""

from __future__ import annotations

from gonogo.checks import credential, not_applicable

token = credential
"""The value behind a credential reference; fails naming where it was looked
for and the fix when the reference is given but cannot be read."""

__all__ = ["not_applicable", "token"]
