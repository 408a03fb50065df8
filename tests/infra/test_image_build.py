"""The API image is built and pushed by `pulumi up` only; a preview needs no Docker but still
shows an image whose build context changed (infra/image_context.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.components.api_function import DOCKERFILE
from infra.image_context import CONTEXT_LABEL, context_files, context_sha256, ignore_rules, is_ignored
from tests.infra.conftest import program_for
from tests.infra.harness import ROOT, Program, run_program

IMAGE = "docker-build:index:Image"


@pytest.fixture(scope="module")
def previewed() -> Program:
    """The dev stack as `pulumi preview` runs it (dry run)."""
    return run_program("dev", preview=True)


def test_a_preview_builds_nothing_and_an_update_builds_and_pushes(previewed: Program) -> None:
    # pulumi-docker-build builds on preview unless told not to; without a build there is nothing to
    # push and no Docker is needed. `pulumi up` builds and pushes.
    for program in (previewed, program_for("dev")):
        image = program.one(IMAGE)
        assert image.inputs["buildOnPreview"] is False
        assert image.inputs["push"] is True


def test_an_unchanged_context_previews_as_no_change(previewed: Program) -> None:
    """The image's inputs are the same in a preview as in the update before it: a preview shows the
    image changing only when one of them (the context hash among them) changed."""
    assert previewed.one(IMAGE).inputs == program_for("dev").one(IMAGE).inputs


def test_the_image_carries_the_context_hash_in_preview_and_update(previewed: Program) -> None:
    expected = context_sha256(ROOT, DOCKERFILE)
    assert previewed.one(IMAGE).inputs["labels"] == {CONTEXT_LABEL: expected}
    assert program_for("dev").one(IMAGE).inputs["labels"] == {CONTEXT_LABEL: expected}


@pytest.fixture
def context(tmp_path: Path) -> Path:
    """A copy of what the build context is made of."""
    for relative in (".dockerignore", DOCKERFILE, "requirements/lambda.txt", "README.md"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    shutil.copytree(ROOT / "src" / "shop", tmp_path / "src" / "shop", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_hash_follows_what_docker_sends_and_nothing_else(context: Path) -> None:
    before = context_sha256(context, DOCKERFILE)
    assert context_sha256(context, DOCKERFILE) == before  # deterministic

    # Outside the context (.dockerignore leaves them out): no change, no rebuild.
    (context / "README.md").write_text("edited\n")
    (context / "src" / "shop" / "local" / "extra.py").write_text("x = 1\n")
    (context / "src" / "shop" / "__pycache__").mkdir()
    (context / "src" / "shop" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert context_sha256(context, DOCKERFILE) == before

    # Inside: the function's code, its pinned requirements, the Dockerfile.
    for relative in ("src/shop/declarations.py", "requirements/lambda.txt", DOCKERFILE):
        path = context / relative
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        assert context_sha256(context, DOCKERFILE) != before, relative
        path.write_bytes(original)
    assert context_sha256(context, DOCKERFILE) == before

    # A new file in the context, or a renamed one, changes it too.
    (context / "src" / "shop" / "new_module.py").write_text("")
    assert context_sha256(context, DOCKERFILE) != before


def test_the_repository_context_is_what_dockerignore_admits() -> None:
    rules = ignore_rules((ROOT / ".dockerignore").read_text())
    files = {p.relative_to(ROOT).as_posix() for p in context_files(ROOT, rules)}
    assert "requirements/lambda.txt" in files and "src/shop/api/handler.py" in files
    assert not any(f.startswith(("src/shop/local/", "src/shop/edge/", ".venv", ".git/", "infra/")) for f in files)
    assert not any(f.endswith(".pyc") for f in files)


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("README.md", True),
        ("requirements/lambda.txt", False),
        ("requirements/dev.txt", True),
        ("src/shop/api/app.py", False),
        ("src/shop/local/__init__.py", True),
        ("src/shop/api/__pycache__/app.cpython-311.pyc", True),
    ],
)
def test_dockerignore_rules_last_match_wins(path: str, ignored: bool) -> None:
    rules = ignore_rules((ROOT / ".dockerignore").read_text())
    assert is_ignored(path, rules) is ignored
