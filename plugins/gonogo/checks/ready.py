"""Ready-made checks: a check written once, bound to any team's checklist title.

A ready-made check is a plain function whose positional parameters are
gonogo's fixtures (``target``, ``cluster``, ``evidence``…) and whose
keyword-only parameters, each with a default, are what a team may tune. The
``ready_check`` decorator records what a human confirms before using it (its
purpose, one sentence), the words of checklist items it fits (its keywords)
and the marks it needs (``kube_access`` sentences, ``mutating``, ``manual``,
``env``). ``check(title, ready)`` then returns the pytest test bound to the
team's own item::

    from gonogo.checks import check, cluster_healthy
    test_cluster = check("Our cluster is fine", cluster_healthy)

Why a function and not a fixture or a base class: the bound test is an
ordinary test function, so everything gonogo does with a check (the stage
marker from the binding, ordering, gating, the RBAC plan from its
``kube_access``) works on it unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

FIXTURES_WITHOUT_TARGET = frozenset(
    {
        "evidence",
        "gonogo_settings",
        "dry_run",
        "checklist_item",
        "signoff",
        "session_outcomes",
        "record_data",
        "rollout_progress",
    }
)
"""The plugin's fixtures a run without ``--target`` can still provide; any
other fixture (``target``, ``environment``, ``cluster``, ``kube``…) needs one."""


@dataclass(eq=False, repr=False)
class ReadyCheck:
    """A ready-made check and what a team needs to know to bind it (compared
    by identity: there is one of each). Made by ``ready_check``, never by hand."""

    name: str
    """Its public name in ``gonogo.checks`` (``cluster_healthy``)."""
    purpose: str
    """What a passing check proves, in one sentence a human confirms."""
    keywords: tuple[str, ...]
    """Words of checklist titles and descriptions this check fits."""
    needs_target: bool
    """Whether a run must name a ``--target`` for it to run: it takes a fixture
    beyond ``FIXTURES_WITHOUT_TARGET``."""
    function: Callable[..., None]
    fixtures: tuple[str, ...]
    """The gonogo fixtures it takes, in order."""
    params: dict[str, Any]
    """Its tunable parameters and their defaults."""
    kube_access: tuple[str, ...] = ()
    mutating: bool = False
    manual: bool = False
    env: tuple[str, ...] = ()

    @property
    def doc(self) -> str:
        """The check's docstring: what it proves, as the report shows it."""
        return inspect.getdoc(self.function) or ""

    def marks(self) -> list[pytest.MarkDecorator]:
        """The pytest marks every test bound to this check carries."""
        marks = []
        if self.mutating:
            marks.append(pytest.mark.mutating)
        if self.manual:
            marks.append(pytest.mark.manual)
        if self.env:
            marks.append(pytest.mark.env(*self.env))
        if self.kube_access:
            marks.append(pytest.mark.kube_access(*self.kube_access))
        return marks

    def __repr__(self) -> str:
        return f"<ready check {self.name}: {self.purpose}>"

    def __call__(self, **arguments: Any) -> None:
        """Run the check with fixtures and parameters given by name."""
        __tracebackhide__ = True
        self.function(**arguments)


_REGISTRY: list[ReadyCheck] = []

BINDER_NAMES = frozenset({"title", "ready", "stage", "phase"})
"""``check()``'s own arguments, which no ready check's parameter may be called."""


def ready_check(
    *,
    purpose: str,
    keywords: tuple[str, ...],
    kube_access: tuple[str, ...] = (),
    mutating: bool = False,
    manual: bool = False,
    env: tuple[str, ...] = (),
) -> Callable[[Callable[..., None]], ReadyCheck]:
    """Declare a function of the library a ready-made check.

    Its positional parameters are fixtures; its keyword-only parameters, each
    with a default, are the parameters a team may override in ``check(...)``.
    A declaration that could mislead a team (no docstring, no purpose, a
    keyword that is not one lowercase word, a parameter without a default) is
    refused at import, where the library's own tests see it."""

    def declare(function: Callable[..., None]) -> ReadyCheck:
        name = function.__name__
        fixtures: list[str] = []
        params: dict[str, Any] = {}
        for p in inspect.signature(function).parameters.values():
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is p.empty:
                fixtures.append(p.name)
            elif p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not p.empty:
                params[p.name] = p.default
            else:
                raise TypeError(
                    f"ready check {name}: parameter {p.name!r} must be a fixture (positional, "
                    "no default) or a keyword-only parameter with a default"
                )
        taken = sorted(set(params) & BINDER_NAMES)
        if taken:
            raise TypeError(
                f"ready check {name}: {', '.join(taken)} would clash with check()'s own "
                "arguments; name the parameter differently"
            )
        if not inspect.getdoc(function) or not purpose.strip():
            raise TypeError(f"ready check {name} needs a docstring and a purpose")
        bad = [k for k in keywords if not k.isalnum() or k != k.lower()]
        if bad or not keywords:
            raise TypeError(f"ready check {name}: keywords are lowercase single words, not {bad}")
        ready = ReadyCheck(
            name=name,
            purpose=purpose,
            keywords=tuple(keywords),
            needs_target=any(f not in FIXTURES_WITHOUT_TARGET for f in fixtures),
            function=function,
            fixtures=tuple(fixtures),
            params=params,
            kube_access=tuple(kube_access),
            mutating=mutating,
            manual=manual,
            env=tuple(env),
        )
        _REGISTRY.append(ready)
        return ready

    return declare


def ready_checks() -> list[ReadyCheck]:
    """Every ready-made check, in the order the library declares them."""
    return list(_REGISTRY)


def _arguments(ready: ReadyCheck, params: dict[str, Any]) -> dict[str, Any]:
    """The check's parameters: its defaults with ``params`` over them;
    TypeError naming the valid ones for a name it does not take."""
    unknown = sorted(set(params) - set(ready.params))
    if unknown:
        valid = ", ".join(sorted(ready.params)) or "none"
        raise TypeError(
            f"{ready.name} takes no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {valid}"
        )
    return {**ready.params, **params}


def _signature(ready: ReadyCheck) -> inspect.Signature:
    """The fixtures of the check as the bound test's signature, which is what
    pytest reads to know what to inject."""
    fixtures = set(ready.fixtures)
    original = inspect.signature(ready.function)
    return original.replace(
        parameters=[p for name, p in original.parameters.items() if name in fixtures],
        return_annotation=None,
    )


def check(
    title: str,
    ready: ReadyCheck,
    *,
    stage: str | None = None,
    phase: str | None = None,
    **params: Any,
) -> Callable[..., None]:
    """The pytest test that runs ``ready`` for the checklist item ``title``.

    Assign it to a ``test_`` name in a test module: ``test_cluster =
    check("Our cluster is fine", cluster_healthy)``. ``stage=``/``phase=``
    pick the item when the title appears twice (as in ``item(...)``);
    ``params`` override the check's declared defaults."""
    if not isinstance(ready, ReadyCheck):
        raise TypeError(
            f"{ready!r} is not a ready-made check; gonogo.checks.ready_checks() lists them"
        )
    arguments = _arguments(ready, params)
    fixtures = ready.fixtures

    def bound(**given: Any) -> None:
        __tracebackhide__ = True
        ready.function(**{name: given[name] for name in fixtures}, **arguments)

    bound.__name__ = bound.__qualname__ = f"test_{ready.name}"
    bound.__doc__ = ready.function.__doc__
    bound.__signature__ = _signature(ready)  # type: ignore[attr-defined]
    where = {k: v for k, v in (("stage", stage), ("phase", phase)) if v is not None}
    test: Callable[..., None] = pytest.mark.item(title, **where)(bound)
    for mark in ready.marks():
        test = mark(test)
    return test


def bind(
    title: str,
    ready: ReadyCheck,
    *,
    stage: str | None = None,
    phase: str | None = None,
    **params: Any,
) -> Callable[[Callable[..., Any]], Callable[..., None]]:
    """``check(...)`` as a decorator of a named stub, for a team that wants
    its own test name and docstring::

        @bind("Our cluster is fine", cluster_healthy)
        def test_our_cluster():
            \"\"\"Our nodes are Ready and leave room for the release.\"\"\"
    """

    def decorate(stub: Callable[..., Any]) -> Callable[..., None]:
        test = check(title, ready, stage=stage, phase=phase, **params)
        test.__name__ = test.__qualname__ = stub.__name__
        test.__doc__ = inspect.getdoc(stub) or test.__doc__
        test.__module__ = stub.__module__
        return test

    return decorate


def markdown_table() -> str:
    """The ready-made checks as the table of docs/writing-checks.md (a unit
    test holds the page to it): name, purpose, parameters, marks."""
    lines = [
        "| ready check | what a passing check proves | parameters (default) | marks |",
        "|---|---|---|---|",
    ]
    for ready in ready_checks():
        params = ", ".join(f"`{k}={v!r}`" for k, v in ready.params.items()) or "none"
        marks = [f"`kube_access`: {'; '.join(ready.kube_access)}"] if ready.kube_access else []
        marks += [
            f"`{m}`" for m, on in (("mutating", ready.mutating), ("manual", ready.manual)) if on
        ]
        if ready.env:
            marks.append(f"`env`: {', '.join(ready.env)}")
        lines.append(
            f"| `{ready.name}` | {ready.purpose} | {params} | {'<br>'.join(marks) or 'none'} |"
        )
    return "\n".join(lines) + "\n"


__all__ = [
    "FIXTURES_WITHOUT_TARGET",
    "ReadyCheck",
    "bind",
    "check",
    "markdown_table",
    "ready_check",
    "ready_checks",
]
