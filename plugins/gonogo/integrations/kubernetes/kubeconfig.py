"""Which kubeconfig a target uses, read and checked before the client library sees it.

The client library's own errors for a bad kubeconfig are a YAML traceback, a
``TypeError`` from deep in its loader, or "Invalid kube-config file" naming
``~/.kube/config`` when ``KUBECONFIG`` pointed somewhere else (the library reads
``KUBECONFIG`` once, at import). Here the file is found the way the target
says (``kube.kubeconfig``, else ``KUBECONFIG`` as it is now, else
``~/.kube/config``), parsed, and its shape and context checked, so every
problem is one line naming the file and the fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gonogo.errors import ConfigError
from gonogo.model.yamlio import YAMLError, load_all

DEFAULT = "~/.kube/config"

FIX_FILE = (
    "point kube.kubeconfig in the target (or KUBECONFIG) at a kubeconfig, "
    "e.g. one written by `kubectl config view --raw`"
)
FIX_CONTEXT = "pass --kube-context or set kube.context in the target"


@dataclass(frozen=True)
class Kubeconfig:
    """The kubeconfig file(s) found, and the context they give."""

    paths: tuple[Path, ...]
    """Existing files, in ``KUBECONFIG`` order."""
    source: str
    """How the files were named, for messages: a path, or ``KUBECONFIG=a:b``."""
    context: str
    """The context to use: the one asked for, else the current-context."""
    contexts: tuple[str, ...]

    @property
    def config_file(self) -> str:
        """What the client library's ``config_file`` argument takes."""
        return os.pathsep.join(str(p) for p in self.paths)


def locate(kubeconfig: Path | None) -> tuple[tuple[Path, ...], str]:
    """The files to read and how to name them in a message; ConfigError when
    none exists."""
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise ConfigError(f"kubeconfig {path} does not exist; {FIX_FILE}")
        return (path,), str(path)
    named = os.environ.get("KUBECONFIG") or ""
    if named:
        listed = [Path(p).expanduser() for p in named.split(os.pathsep) if p]
        found = tuple(p for p in listed if p.is_file())
        if not found:
            missing = ", ".join(str(p) for p in listed) or repr(named)
            raise ConfigError(
                f"KUBECONFIG names {missing}, which does not exist; export KUBECONFIG "
                "pointing at your kubeconfig or set kube.kubeconfig in the target"
            )
        return found, (str(found[0]) if len(listed) == 1 else f"KUBECONFIG={named}")
    path = Path(DEFAULT).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"no kubeconfig: KUBECONFIG is not set and {DEFAULT} does not exist; "
            "set kube.kubeconfig in the target or export KUBECONFIG"
        )
    return (path,), str(path)


def _read(path: Path) -> dict[str, Any]:
    try:
        documents = load_all(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"is not text (UTF-8); {FIX_FILE}", file=path) from None
    except OSError as e:
        raise ConfigError(f"cannot be read ({e.strerror}); {FIX_FILE}", file=path) from None
    except YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or e.__class__.__name__
        raise ConfigError(
            f"is not YAML ({problem}); {FIX_FILE}",
            file=path,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        found = "nothing" if not documents else type(documents[-1]).__name__
        raise ConfigError(
            f"is not a kubeconfig (a mapping with clusters, contexts and users; "
            f"found {found}); {FIX_FILE}",
            file=path,
        )
    config: dict[str, Any] = documents[0]
    for section in ("clusters", "contexts", "users"):
        entries = config.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) for e in entries
        ):
            raise ConfigError(
                f"is not a kubeconfig: {section} must be a list of entries with a name; {FIX_FILE}",
                file=path,
            )
    return config


def read(kubeconfig: Path | None, context: str | None) -> Kubeconfig:
    """The kubeconfig a target uses, checked: ConfigError (one line naming the
    file and the fix) when it is missing, not YAML, not a kubeconfig, or has no
    such context."""
    paths, source = locate(kubeconfig)
    configs = [_read(p) for p in paths]
    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, Any] = {}
    users: set[str] = set()
    current = None
    for config in configs:
        for entry in config.get("contexts") or []:
            contexts.setdefault(entry["name"], entry.get("context") or {})
        for entry in config.get("clusters") or []:
            clusters.setdefault(entry["name"], entry.get("cluster"))
        users.update(e["name"] for e in config.get("users") or [])
        # As the client library merges: the last file's current-context wins.
        current = config.get("current-context") or current
    names = tuple(contexts)
    if not names:
        raise ConfigError(f"{source}: is not a kubeconfig: it defines no contexts; {FIX_FILE}")
    listed = f"; contexts are: {', '.join(names)}"
    chosen = context or current
    if not chosen:
        raise ConfigError(
            f"no kube context given and no current-context in {source}{listed}; {FIX_CONTEXT}"
        )
    if chosen not in contexts:
        raise ConfigError(f"no kube context {chosen!r} in {source}{listed}; {FIX_CONTEXT}")
    entry = contexts[chosen]
    if not isinstance(entry, dict):
        raise ConfigError(f"{source}: context {chosen!r} is not a mapping; {FIX_FILE}")
    cluster = entry.get("cluster")
    if cluster not in clusters:
        raise ConfigError(
            f"{source}: context {chosen!r} names cluster {cluster!r}, which is not defined; "
            f"{FIX_FILE}"
        )
    server = clusters[cluster].get("server") if isinstance(clusters[cluster], dict) else None
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise ConfigError(
            f"{source}: cluster {cluster!r} of context {chosen!r} has no server URL "
            f"(server: https://HOST:PORT, found {server!r}); {FIX_FILE}"
        )
    user = entry.get("user")
    if user is not None and user not in users:
        raise ConfigError(
            f"{source}: context {chosen!r} names user {user!r}, which is not defined; {FIX_FILE}"
        )
    return Kubeconfig(paths=paths, source=source, context=str(chosen), contexts=names)
