"""Reading a target file: the one entry point from a path to a validated Target.

Parsing (with the line of every key), validation with the file's directory as
context, the translation of errors into one line, and telling the redactor
about every credential the target references all happen here, in that order,
so no caller can get a Target that skipped a step.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from gonogo.errors import ConfigError
from gonogo.model.target.messages import config_error
from gonogo.model.target.root import Target
from gonogo.model.yamlsource import load_yaml
from gonogo.redact import redactor


def load_target(path: str | Path, *, require_files: bool = False) -> Target:
    """Read, validate and return the target in ``path``; raises ConfigError.

    ``require_files``: a run is about to use the target, so the files it reads
    during checks (``ca_bundle``) must exist now."""
    file = Path(path)
    document = load_yaml(file)
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else f"a {type(document.data).__name__}"
        raise ConfigError(
            f"is {kind}; a target file is a mapping with name, release, namespaces, services "
            "and environments (see docs/targets.md)",
            file=file,
            line=1,
        )
    base_dir = file.absolute().parent
    try:
        target = Target.model_validate(
            document.data, context={"base_dir": base_dir, "require_files": require_files}
        )
    except ValidationError as e:
        raise config_error(e, document) from None
    target._source = file
    for name in target.secret_env_names():
        redactor.add_secret(os.environ.get(name))
    return target
