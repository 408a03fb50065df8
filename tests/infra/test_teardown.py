"""What ``pulumi destroy`` does to each stack's data.

A stack whose profile has ``protect_data = False`` (dev, staging) must be
destroyable in one command leaving nothing behind: buckets emptied by
``force_destroy``, the registry's images deleted, no final snapshot, no
deletion protection, no resource marked ``protect`` or ``retainOnDelete``
except the one documented leftover: the Lambda@Edge function, which Lambda
cannot delete while CloudFront still holds replicas of it (README, "Tear down").

A stack with ``protect_data = True`` (prod) must refuse to lose data: the
stores are protected in Pulumi (destroy stops before touching them), have
deletion protection in AWS as a second lock, the cluster takes a final
snapshot, and AWS Backup's vault keeps its recovery points.
"""

from __future__ import annotations

import re

import pytest

from infra.settings import PROFILES
from tests.infra.conftest import program_for
from tests.infra.harness import ROOT, Program, Resource, run_program

BUCKET = "aws:s3/bucket:Bucket"
TABLE = "aws:dynamodb/table:Table"
CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
KEY = "aws:kms/key:Key"
REPOSITORY = "aws:ecr/repository:Repository"
VAULT = "aws:backup/vault:Vault"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"

# What destroy deliberately leaves behind (type, logical name): see README "Tear down".
DOCUMENTED_LEFTOVERS = {("aws:lambda/function:Function", "edge")}

# The data stores whose loss matters, and which every stack has.
DATA_STORES = (BUCKET, TABLE, CLUSTER, KEY)


def protects_data(program: Program) -> bool:
    return PROFILES[program.config["ecommerce:environment"]].protect_data


def data_stores(program: Program) -> list[Resource]:
    stores = [r for r in program if r.type in (*DATA_STORES, VAULT)]
    assert {r.type for r in stores} >= set(DATA_STORES)
    return stores


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_a_disposable_stack_is_destroyed_without_leftovers(stack: str) -> None:
    program = program_for(stack)
    assert not protects_data(program)
    for resource in program:
        assert not resource.options["protect"], f"{resource.type} {resource.name} would block pulumi destroy"
        if (resource.type, resource.name) not in DOCUMENTED_LEFTOVERS:
            assert not resource.options["retainOnDelete"], f"{resource.type} {resource.name} would survive destroy"
    for bucket in program.of_type(BUCKET):
        assert bucket["forceDestroy"] is True, f"bucket {bucket.name} must be emptied on destroy"
    for table in program.of_type(TABLE):
        assert table.get("deletionProtectionEnabled") in (False, None), table.name
    cluster = program.one(CLUSTER)
    assert cluster["skipFinalSnapshot"] is True, "no snapshot left behind"
    assert cluster.get("deletionProtection") in (False, None)
    assert cluster.get("deleteAutomatedBackups") in (True, None), "automated backups go with the cluster"
    for instance in program.of_type(INSTANCE):
        assert instance.get("deletionProtection") in (False, None), instance.name
    assert program.one(REPOSITORY)["forceDelete"] is True, "the registry is deleted with its images"
    for vault in program.of_type(VAULT):
        assert vault["forceDestroy"] is True, "the backup vault is deleted with its recovery points"
    for group in program.of_type(LOG_GROUP):
        assert not group.get("skipDestroy"), group.name
    # The key cannot vanish at once: AWS schedules its deletion (7 days, the minimum).
    assert program.one(KEY, "data")["deletionWindowInDays"] == 7


def test_prod_refuses_to_lose_data(prod: Program) -> None:
    assert protects_data(prod)
    for store in data_stores(prod):
        assert store.options["protect"], f"{store.type} {store.name} must be protected in Pulumi"
    for bucket in prod.of_type(BUCKET):
        assert not bucket.get("forceDestroy"), bucket.name
    for table in prod.of_type(TABLE):
        assert table["deletionProtectionEnabled"] is True, table.name
        assert table["pointInTimeRecovery"]["enabled"] is True, table.name
    cluster = prod.one(CLUSTER)
    assert cluster["deletionProtection"] is True
    assert cluster.get("skipFinalSnapshot") in (False, None)
    assert re.fullmatch(r"ecommerce-aurora-final-prod-[0-9a-f]{8}", cluster["finalSnapshotIdentifier"])
    assert cluster["backupRetentionPeriod"] == PROFILES["prod"].db_backup_retention_days
    for vault in prod.of_type(VAULT):
        assert not vault.get("forceDestroy"), "recovery points outlive the stack"
    assert prod.one(REPOSITORY).get("forceDelete") in (False, None)
    assert prod.one(KEY, "data")["deletionWindowInDays"] == 30


def test_protection_follows_the_profile_not_the_stack_name() -> None:
    """A dev-named stack with protectData=true is as hard to destroy as prod."""
    program = run_program("dev", {"protectData": "true"})
    assert all(store.options["protect"] for store in data_stores(program) if store.type != VAULT)
    assert program.one(CLUSTER)["deletionProtection"] is True
    assert all(t["deletionProtectionEnabled"] is True for t in program.of_type(TABLE))
    # Protected buckets and registries must not be emptied by a destroy either.
    assert not any(bucket.get("forceDestroy") for bucket in program.of_type(BUCKET))
    assert program.one(REPOSITORY).get("forceDelete") in (False, None)


def test_unprotected_prod_profile_is_disposable() -> None:
    """The reverse: protectData=false on a prod-sized stack (say a load-test copy) tears down cleanly."""
    program = run_program("prod", {"protectData": "false"})
    assert all(bucket["forceDestroy"] is True for bucket in program.of_type(BUCKET))
    assert program.one(REPOSITORY)["forceDelete"] is True
    assert not any(store.options["protect"] for store in data_stores(program))


# --------------------------------------------------------------------------- the README's retirement path

ALB = "aws:lb/loadBalancer:LoadBalancer"
RANDOM_ID = "random:index/randomId:RandomId"
# Everything that restores the data after the stack is gone.
KEPT = (VAULT, KEY)


def is_edge_leftover(resource: Resource) -> bool:
    """The one documented leftover of every destroy: the Lambda@Edge function, retained while
    CloudFront still holds its replicas (README, teardown)."""
    return resource.type == "aws:lambda/function:Function" and resource.name == "edge"


def test_protection_is_one_decision(prod: Program) -> None:
    """Deletion protection of every store and of the ALB follows protect_data alone (not the stack's
    name): a dev-named stack with protectData=true protects its ALB too."""
    assert prod.one(ALB)["enableDeletionProtection"] is True
    guarded = run_program("dev", {"protectData": "true"})
    assert guarded.one(ALB)["enableDeletionProtection"] is True
    released = run_program("prod", {"protectData": "false"})
    assert released.one(ALB)["enableDeletionProtection"] is False


def test_the_readme_retirement_path_releases_everything_and_keeps_the_backups() -> None:
    """README, Teardown: `pulumi config set protectData false`, `pulumi up`, `pulumi destroy`. After the
    update nothing blocks the destroy (no protect, no deletion protection in AWS, buckets emptied), and
    the destroy keeps the final snapshot, both vaults with their recovery points, and the keys that
    decrypt them (keepBackupsOnDestroy stays true)."""
    readme = (ROOT / "README.md").read_text()
    assert "pulumi config set protectData false" in readme
    retired = run_program("prod", {"protectData": "false"})
    assert PROFILES["prod"].keep_backups_on_destroy
    for resource in retired:
        assert not resource.options["protect"], f"{resource.type} {resource.name} still blocks pulumi destroy"
        if resource.options["retainOnDelete"] and not is_edge_leftover(resource):
            assert resource.type in KEPT, f"{resource.type} {resource.name} would be left behind"
    assert retired.one(CLUSTER)["deletionProtection"] is False
    assert all(t["deletionProtectionEnabled"] is False for t in retired.of_type(TABLE))
    assert retired.one(ALB)["enableDeletionProtection"] is False
    assert all(b["forceDestroy"] is True for b in retired.of_type(BUCKET))
    assert retired.one(REPOSITORY)["forceDelete"] is True
    # ...and what restores the data stays.
    cluster = retired.one(CLUSTER)
    assert cluster["skipFinalSnapshot"] is False
    assert cluster["finalSnapshotIdentifier"].startswith("ecommerce-aurora-final-prod-")
    vaults = retired.of_type(VAULT)
    assert {v.name for v in vaults} == {"backup", "dr-backup"}
    for vault in vaults:
        assert vault.options["retainOnDelete"] and not vault.get("forceDestroy"), vault.name
    for key in retired.of_type(KEY):
        assert key.options["retainOnDelete"], f"the {key.name} key decrypts the kept snapshot and copies"


def test_a_second_retirement_gets_its_own_final_snapshot_name() -> None:
    """The final snapshot outlives its stack: a new stack of the same name, retired later, must not
    collide with it (DBClusterSnapshotAlreadyExists would fail the destroy). The name carries a
    random suffix made once per cluster (a RandomId in the state), not the stack name alone."""
    first, second = program_for("prod"), run_program("prod", {"protectData": "false"})
    suffix = first.one(RANDOM_ID)
    assert suffix["byteLength"] >= 4 and suffix.parent == first.one(CLUSTER).parent
    assert first.one(CLUSTER)["finalSnapshotIdentifier"] == f"ecommerce-aurora-final-prod-{suffix.outputs['hex']}"
    # Within a stack the suffix is stable across updates (same logical RandomId, no keepers).
    assert second.one(RANDOM_ID).urn == suffix.urn and not suffix.get("keepers")
    # RDS: 1-255 letters, digits or hyphens, a letter first, no double hyphen, no trailing hyphen.
    name = first.one(CLUSTER)["finalSnapshotIdentifier"]
    assert re.fullmatch(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)", name)


def test_disposable_stacks_keep_nothing() -> None:
    for stack in ("dev", "staging"):
        program = program_for(stack)
        assert not PROFILES[stack].keep_backups_on_destroy
        assert program.of_type(RANDOM_ID) == []
        assert not any(r.options["retainOnDelete"] for r in program if not is_edge_leftover(r))
