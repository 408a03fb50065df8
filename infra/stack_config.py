"""Read a stack's ``Pulumi.<stack>.yaml`` the way the Pulumi CLI hands it to the program.

The CLI passes config to the program with namespaced keys (``ecommerce:environment``,
``aws:region``) and decrypts ``secure:`` values first. Without the CLI (the tests under
mocks, ``python -m infra.preflight``) nothing can decrypt them, so each caller says what
stands in for a secret. Both the test harness and the preflight read stack files here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


class StackConfigError(ValueError):
    """The stack file is missing or is not a Pulumi stack config file."""


def project_name(root: Path = ROOT) -> str:
    return str(yaml.safe_load((root / "Pulumi.yaml").read_text())["name"])


def read_stack_config(
    stack: str, secret_value: Callable[[str], str], root: Path = ROOT
) -> tuple[dict[str, Any], set[str]]:
    """The stack's config with namespaced keys, and the keys that are secrets.

    A secret's value is ``secret_value(<namespaced key>)``: the ciphertext is not readable here.
    """
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackConfigError(f"{path.name} not found: create the stack first (pulumi stack init {stack})")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackConfigError(f"{path.name} is not valid YAML: {error}") from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        config = {}
    project = project_name(root)
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in config.items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and "secure" in value:
            value = secret_value(full)
            secrets.add(full)
        values[full] = value
    return values, secrets


def as_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """Config values as the engine passes them to a program: strings, structured values as JSON."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
