"""Where the integration tests find a deployed stack, and why they skip without one."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.integration.conftest import NoOutputsError, load_outputs


def test_outputs_come_from_the_file_named_by_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps({"apiUrl": "https://x.execute-api.us-west-2.amazonaws.com/api", "environment": "dev"}))
    assert load_outputs({"STACK_OUTPUTS_FILE": str(file), "PATH": ""})["environment"] == "dev"


@pytest.mark.parametrize(("content", "reason"), [(None, "does not exist"), ("{", "not JSON"), ("{}", "no outputs")])
def test_a_bad_outputs_file_is_a_clear_skip_reason(tmp_path: Path, content: str | None, reason: str) -> None:
    file = tmp_path / "outputs.json"
    if content is not None:
        file.write_text(content)
    with pytest.raises(NoOutputsError, match=reason):
        load_outputs({"STACK_OUTPUTS_FILE": str(file), "PATH": ""})


def test_without_a_file_or_the_cli_the_reason_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(NoOutputsError, match="STACK_OUTPUTS_FILE"):
        load_outputs({"PATH": str(tmp_path)})


def _fake_cli(directory: Path, script: str) -> None:
    cli = directory / "pulumi"
    cli.write_text("#!/bin/sh\n" + script)
    cli.chmod(cli.stat().st_mode | stat.S_IEXEC)


def test_the_cli_is_asked_for_the_selected_stack(tmp_path: Path) -> None:
    _fake_cli(tmp_path, 'echo "$@" > "$(dirname "$0")/args"; echo \'{"environment": "staging"}\'\n')
    outputs = load_outputs({"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin", "PULUMI_STACK": "staging"})
    assert outputs == {"environment": "staging"}
    args = (tmp_path / "args").read_text().split()
    assert args[:3] == ["stack", "output", "--json"] and "--show-secrets" in args
    assert args[args.index("--stack") + 1] == "staging"


def test_a_cli_without_a_stack_is_a_skip_reason(tmp_path: Path) -> None:
    _fake_cli(tmp_path, "echo 'error: no stack selected' >&2; exit 255\n")
    with pytest.raises(NoOutputsError, match="no stack selected"):
        load_outputs({"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"})
