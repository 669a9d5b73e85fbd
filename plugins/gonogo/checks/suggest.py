"""Which ready-made check fits a checklist item, if any.

A scaffold offers the suggestion to a human, who confirms the check's
purpose; a wrong suggestion costs more than none (it reads as a check that
exists when it proves something else), so the rule is conservative:

- two different keywords of the check appear in the item's title and
  description together, at least one of them in the title;
- a keyword in the title counts twice, so the title decides;
- the best check must score strictly more than the next: a tie is no answer.

"Team availability" or "Change approval" share no keyword with a technical
check and get none; "Database connectivity" shares one with the network
check and gets none either.
"""

from __future__ import annotations

import re

from gonogo.checks.ready import ReadyCheck, ready_checks

LEAST_KEYWORDS = 2
"""Distinct keywords an item must share with a check to be offered it."""


def words(text: str) -> set[str]:
    """The words of ``text``, lowercased and singular enough to compare
    ("volumes" and "volume" are one word; "dns" and "access" stay)."""
    return {_singular(w) for w in re.findall(r"[a-z0-9]+", text.lower())}


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def score(ready: ReadyCheck, title: str, description: str = "") -> int:
    """How well ``ready`` fits the item: 0 when it does not fit at all."""
    keywords = {_singular(k) for k in ready.keywords}
    in_title = keywords & words(title)
    everywhere = keywords & (words(title) | words(description))
    if not in_title or len(everywhere) < LEAST_KEYWORDS:
        return 0
    return len(everywhere) + len(in_title)


def suggest_ready_check(title: str, description: str = "") -> ReadyCheck | None:
    """The ready-made check that best fits the checklist item, or None when
    none fits well (or two fit equally well)."""
    ranked = sorted(
        ((score(r, title, description), r) for r in ready_checks()),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if not ranked or ranked[0][0] == 0:
        return None
    if len(ranked) > 1 and ranked[1][0] == ranked[0][0]:
        return None
    return ranked[0][1]


__all__ = ["LEAST_KEYWORDS", "score", "suggest_ready_check", "words"]
