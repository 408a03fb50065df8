"""`pulumi up` runs in exactly the pinned, hashed versions the tests ran with.

Pulumi.yaml's pip toolchain builds .venv-deploy from requirements.txt, which installs the hashed
pins of requirements/infra.txt (compiled by `make lock` from the infra group, constrained to
requirements/dev.txt). Here that virtualenv is built the way Pulumi builds it (a bare venv, then
the requirements file: exactly its pins, as pip's hash-checking mode installs them, here with
`uv pip sync` offline from the cache `make bootstrap` filled), and then runs the real program
under the mocks with nothing but that virtualenv and the repository's files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from tests.infra.conftest import program_for
from tests.infra.harness import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.M)
INDEX = re.compile(r"(--(extra-)?index-url|--find-links|https?://)", re.I)


def uv() -> list[str]:
    """uv as the Makefile runs it (``python3 -m uv``: the same uv, so the same cache)."""
    return [os.environ.get("PYTHON") or shutil.which("python3") or sys.executable, "-m", "uv"]


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    return {normalize(n): v for n, v in PIN.findall(path.read_text())}


def requirement_lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


@pytest.mark.parametrize("project", [ROOT, ROOT / "bootstrap"], ids=["app", "bootstrap"])
def test_pulumi_uses_the_pip_toolchain_on_the_pinned_requirements(project: Path) -> None:
    options = yaml.safe_load((project / "Pulumi.yaml").read_text())["runtime"]["options"]
    assert options["toolchain"] == "pip"  # uv's toolchain resolves afresh without a lock
    assert (project / options["virtualenv"]).resolve() == ROOT / ".venv-deploy"
    lines = requirement_lines(project / "requirements.txt")
    assert [(project / ln.removeprefix("-r ").strip()).resolve() for ln in lines] == [
        ROOT / "requirements" / "infra.txt"
    ]


def test_every_deploy_pin_is_hashed_and_is_the_tested_version() -> None:
    infra, dev = pins(ROOT / "requirements" / "infra.txt"), pins(ROOT / "requirements" / "dev.txt")
    assert {"pulumi", "pulumi-aws", "pulumi-docker-build"} <= infra.keys()
    assert {name: dev.get(name) for name in infra} == infra
    text = (ROOT / "requirements" / "infra.txt").read_text()
    blocks = [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if PIN.match(b)]
    assert len(blocks) == len(infra) and all("--hash=sha256:" in b for b in blocks)


def test_no_deploy_file_names_a_package_index() -> None:
    for path in (
        ROOT / "requirements.txt",
        ROOT / "bootstrap" / "requirements.txt",
        ROOT / "requirements" / "infra.txt",
    ):
        assert not INDEX.search(path.read_text()), path


def test_the_deploy_virtualenv_holds_exactly_the_pinned_versions_and_runs_the_program(tmp_path: Path) -> None:
    target = tmp_path / "venv-deploy"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    requirements = str(ROOT / "requirements.txt")
    install = subprocess.run(
        [*uv(), "pip", "sync", "--offline", "--require-hashes", "--python", str(python), requirements],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert install.returncode == 0, f"offline install from the cache `make bootstrap` fills failed:\n{install.stderr}"

    listing = subprocess.run(
        [str(python), "-I", "-c", "import importlib.metadata as m, json; "
         "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    installed = {normalize(n): v for n, v in json.loads(listing.stdout).items()}
    assert installed == pins(ROOT / "requirements" / "infra.txt")

    # The program itself, in that venv only (-I: no site, no cwd, no PYTHONPATH), as Pulumi runs it.
    # The repository's own packages come from its tree, as infra/__main__.py arranges under Pulumi.
    runner = (
        "import importlib.util, json, sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'src')!r}]\n"
        f"spec = importlib.util.spec_from_file_location('harness', {str(ROOT / 'tests/infra/harness.py')!r})\n"
        "harness = importlib.util.module_from_spec(spec); sys.modules['harness'] = harness\n"
        "spec.loader.exec_module(harness)\n"
        "program = harness.run_program('dev')\n"
        "print(json.dumps(sorted(r.urn for r in program)))\n"
    )
    run = subprocess.run(
        [str(python), "-I", "-c", runner], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.splitlines()[-1]) == sorted(r.urn for r in program_for("dev"))
