"""The GitHub Actions workflows, checked here although GitHub is not reachable: actionlint, then
their structure (PyYAML): triggers, environments, one run per stack, pinned actions, least
permissions, and the same test command as .ci/run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bootstrap.policies import github_subjects
from bootstrap.settings import MAX_SESSION_SECONDS, BootstrapSettings
from tests.infra.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ACTION = ROOT / ".github" / "actions" / "pulumi-env" / "action.yml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"
NAMES = ("test", "preview", "deploy", "review-stack")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(?:/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s+# v\d+(?:\.\d+){0,2}\s*$")
PULUMI_ACTION = "pulumi/actions@"
LOCAL_ACTION = "./.github/actions/pulumi-env"


def load(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text()))


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads a bare `on` key as the boolean True.
    on = workflow.get("on", workflow.get(True))
    return {on: None} if isinstance(on, str) else dict(on)


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s for s in steps(job) if str(s.get("uses", "")).startswith(PULUMI_ACTION) and "command" in s.get("with", {})
    ]


def index_of(job: dict[str, Any], predicate: Any) -> int:
    found = [i for i, s in enumerate(steps(job)) if predicate(s)]
    assert len(found) == 1, found
    return found[0]


def all_files() -> list[Path]:
    return [*sorted(WORKFLOWS.glob("*.yml")), ACTION]


# --------------------------------------------------------------------------- actionlint


def test_actionlint_passes_on_the_repositorys_workflows() -> None:
    result = subprocess.run([str(ACTIONLINT)], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_flags_deprecated_runtimes_and_script_injection(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n'
    )
    result = subprocess.run([str(ACTIONLINT), str(bad)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert 'runtime "node20" is deprecated' in result.stdout
    assert "potentially untrusted" in result.stdout


# --------------------------------------------------------------------------- every file


def test_the_four_workflows_exist() -> None:
    assert {p.stem for p in WORKFLOWS.glob("*.yml")} == set(NAMES)


@pytest.mark.parametrize("path", all_files(), ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path: Path) -> None:
    lines = path.read_text().splitlines()
    uses = [(n, m) for n, line in enumerate(lines, 1) if (m := USES.match(line))]
    assert uses
    for number, match in uses:
        ref = match["ref"]
        if ref.startswith("./"):
            assert (ROOT / ref / "action.yml").is_file(), ref
            continue
        assert PINNED.match(ref), f"{path.name}:{number}: {ref} is not pinned to a 40-hex commit SHA"
        assert VERSION_COMMENT.match(match["rest"]), f"{path.name}:{number}: no '# vX.Y.Z' after the SHA"


def test_one_action_one_commit_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for path in all_files():
        for line in path.read_text().splitlines():
            if (m := USES.match(line)) and "@" in m["ref"]:
                action, sha = m["ref"].split("@")
                pins.setdefault(action, set()).add(f"{sha}{m['rest'].strip()}")
    assert {a for a, p in pins.items() if len(p) > 1} == set()


@pytest.mark.parametrize("name", NAMES)
def test_permissions_are_declared_per_job_and_least(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}, "the workflow grants nothing; each job asks for what it needs"
    for job_name, job in workflow["jobs"].items():
        permissions = job["permissions"]
        assert isinstance(permissions, dict), f"{name}.{job_name}: no read-all/write-all"
        needed = {"contents": "read"}
        if any(s.get("uses") == LOCAL_ACTION for s in steps(job)):
            needed["id-token"] = "write"  # the OIDC token for AWS, nothing else
        if any(str(s.get("with", {}).get("comment-on-pr")).lower() == "true" for s in pulumi_steps(job)):
            needed["pull-requests"] = "write"
        assert permissions == needed, f"{name}.{job_name}"


# --------------------------------------------------------------------------- test.yml


def test_test_runs_on_pull_requests_and_pushes_to_main_with_the_ci_command() -> None:
    workflow = load("test")
    on = triggers(workflow)
    assert set(on) == {"pull_request", "push"}
    assert on["push"]["branches"] == ["main"]
    (job,) = workflow["jobs"].values()
    runs = [s["run"].strip() for s in steps(job) if "run" in s]
    assert runs == ["bash .ci/run"]
    ci = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert ci[-1].strip() == "make test"


# --------------------------------------------------------------------------- preview.yml


def test_preview_runs_the_policy_pack_against_staging_and_comments_on_the_pr() -> None:
    workflow = load("preview")
    assert set(triggers(workflow)) == {"pull_request"}
    (job,) = workflow["jobs"].values()
    assert "environment" not in job  # the OIDC subject is then `pull_request`
    (step,) = pulumi_steps(job)
    assert step["with"]["command"] == "preview"
    assert step["with"]["stack-name"] == "staging"
    assert step["with"]["policyPacks"] == "policy"
    assert step["with"]["comment-on-pr"] is True
    # A preview builds no image: no Docker set up.
    (env,) = [s for s in steps(job) if s.get("uses") == LOCAL_ACTION]
    assert env["with"].get("docker", "false") == "false"


# --------------------------------------------------------------------------- deploy.yml


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_deploy_runs_preflight_then_up_then_smoke(stack: str) -> None:
    workflow = load("deploy")
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"]}
    job = workflow["jobs"][stack]
    assert job["environment"] == stack
    preflight = index_of(job, lambda s: s.get("run", "").strip() == f"make preflight STACK={stack}")
    up = index_of(job, lambda s: s in pulumi_steps(job))
    smoke = index_of(job, lambda s: s.get("run", "").strip() == f"make smoke STACK={stack}")
    assert preflight < up < smoke
    step = steps(job)[up]["with"]
    assert (step["command"], step["stack-name"], step["policyPacks"]) == ("up", stack, "policy")


def test_prod_waits_for_staging_and_for_approval() -> None:
    jobs = load("deploy")["jobs"]
    assert jobs["prod"]["needs"] == "staging"
    # Approval is the `prod` environment's required reviewers (a repository setting, README).
    assert jobs["prod"]["environment"] == "prod"
    readme = (ROOT / "README.md").read_text()
    assert "Required reviewers" in readme and "`prod`" in readme


def test_smoke_runs_the_read_only_integration_subset() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nsmoke:", 1)[1].split("\n\n", 1)[0]
    assert "pytest tests/integration -m smoke" in recipe
    assert "STACK_OUTPUTS_FILE=" in recipe


# --------------------------------------------------------------------------- review-stack.yml


def test_review_stacks_follow_the_pull_request() -> None:
    workflow = load("review-stack")
    on = triggers(workflow)
    assert set(on) == {"pull_request"}
    assert set(on["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "closed"}
    assert workflow["env"]["STACK"] == "pr-${{ github.event.pull_request.number }}"
    jobs = workflow["jobs"]
    assert "!= 'closed'" in jobs["up"]["if"] and "== 'closed'" in jobs["destroy"]["if"]
    (up,) = pulumi_steps(jobs["up"])
    assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "${{ env.STACK }}"
    (destroy,) = pulumi_steps(jobs["destroy"])
    assert destroy["with"]["command"] == "destroy" and destroy["with"]["remove"] is True
    preflight = index_of(jobs["up"], lambda s: s.get("run", "").strip() == 'make preflight "STACK=$STACK"')
    assert preflight < steps(jobs["up"]).index(up)


# --------------------------------------------------------------------------- one run per stack


def stack_groups() -> dict[str, tuple[str, bool]]:
    """Each job that changes a stack → its concurrency group and whether it cancels."""
    groups = {}
    for name in ("deploy", "review-stack"):
        workflow = load(name)
        for job_name, job in workflow["jobs"].items():
            concurrency = job.get("concurrency", workflow.get("concurrency"))
            groups[f"{name}.{job_name}"] = (concurrency["group"], concurrency["cancel-in-progress"])
    return groups


def test_one_run_per_stack_and_no_update_cancelled_midway() -> None:
    groups = stack_groups()
    assert groups["deploy.staging"][0] != groups["deploy.prod"][0]
    assert "staging" in groups["deploy.staging"][0] and "prod" in groups["deploy.prod"][0]
    # An update and the destroy of the same review stack share its group, keyed by the PR number.
    assert groups["review-stack.up"][0] == groups["review-stack.destroy"][0]
    assert "github.event.pull_request.number" in groups["review-stack.up"][0]
    assert all(cancel is False for _, cancel in groups.values())
    assert len({g for g, _ in groups.values()}) == 3


# --------------------------------------------------------------------------- credentials


def oidc_subject(workflow: dict[str, Any], job: dict[str, Any]) -> str:
    """The `sub` GitHub puts in the job's token (repo:<owner>/<name>: left out)."""
    if "environment" in job:
        return f"environment:{job['environment']}"
    if "pull_request" in triggers(workflow):
        return "pull_request"
    return "ref:refs/heads/main"


def test_every_job_that_assumes_the_role_is_trusted_by_the_bootstrap_defaults() -> None:
    settings = BootstrapSettings(
        region="us-west-2",
        repository="acme/shop",
        branches=("main",),
        environments=("staging", "prod"),
        pull_requests=True,
        manage_api_gateway_account=True,
        state_backend="cloud",
        oidc_provider_arn=None,
        tags={},
    )
    trusted = {s.removeprefix("repo:acme/shop:") for s in github_subjects(settings)}
    used = set()
    for name in NAMES:
        workflow = load(name)
        for job in workflow["jobs"].values():
            if any(s.get("uses") == LOCAL_ACTION for s in steps(job)):
                used.add(oidc_subject(workflow, job))
    assert used and used <= trusted


def test_credentials_last_no_longer_than_the_role_allows() -> None:
    action = yaml.safe_load(ACTION.read_text())
    (aws,) = [s for s in action["runs"]["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert "aws-access-key-id" not in aws["with"] and "role-to-assume" in aws["with"]
    assert 3600 <= int(aws["with"]["role-duration-seconds"]) <= MAX_SESSION_SECONDS


def test_the_pulumi_cli_matches_the_pinned_sdk() -> None:
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", (ROOT / "requirements" / "infra.txt").read_text(), re.M))
    assert (ROOT / ".pulumi-version").read_text().strip() == pins["pulumi"]


def test_no_secret_is_interpolated_into_a_script() -> None:
    for path in all_files():
        for run in re.findall(r"run: (.*)", path.read_text()):
            assert "secrets." not in run, f"{path.name}: pass secrets through env, not into the script"


# --------------------------------------------------------------------------- the review stack's config


def test_the_review_stack_gets_the_dev_profile_and_its_own_suffix(tmp_path: Path) -> None:
    log = tmp_path / "pulumi.log"
    fake = tmp_path / "pulumi"
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {shlex.quote(str(log))}\n')
    fake.chmod(0o755)
    # The script's inputs come from the workflow only (another test may have set, e.g., the local
    # platform's STRIPE_PUBLISHABLE_KEY in this process).
    inputs = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY", "ALARM_EMAIL")
    env = {
        **{key: value for key, value in os.environ.items() if key not in inputs},
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "SECRETS_PROVIDER": "awskms://alias/x?region=us-west-2",
        "STOREFRONT_CREDENTIAL": "review:pw",
    }
    script = ROOT / "scripts" / "review-stack-config.sh"
    subprocess.run([str(script), "pr-42"], env=env, check=True, timeout=60)
    calls = log.read_text().splitlines()
    assert calls[0] == "stack select --create --secrets-provider awskms://alias/x?region=us-west-2 pr-42"
    assert "config set --stack pr-42 -- ecommerce:environment dev" in calls
    assert "config set --stack pr-42 -- ecommerce:environmentSuffix pr-42" in calls
    assert calls[-1] == "config set --secret --stack pr-42 storefrontCredential -- review:pw"
    refused = subprocess.run([str(script), "staging"], env=env, capture_output=True, timeout=60, check=False)
    assert refused.returncode == 2
