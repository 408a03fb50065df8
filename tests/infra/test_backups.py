"""AWS Backup: present in staging and prod only, an encrypted vault, a daily plan
with the profile's retention, and a selection of exactly the cluster and every
table through a role with the AWS-managed backup policies."""

from __future__ import annotations

import json

import pytest

from infra.settings import PROFILES, SettingsError
from shop.declarations import TABLES
from tests.infra.conftest import program_for
from tests.infra.harness import Program, Resource, run_program

VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"


def backup_resources(program: Program) -> list[Resource]:
    return [r for r in program if r.type.startswith("aws:backup/") or r.type == "ecommerce:data:Backups"]


def test_backups_exist_in_staging_and_prod_only(program: Program) -> None:
    expected = program.stack in ("staging", "prod")
    assert PROFILES[program.stack].aws_backup is expected
    assert bool(backup_resources(program)) is expected
    if expected:
        assert len(program.of_type(PLAN)) == len(program.of_type(SELECTION)) == 1
        # Prod adds the DR region's vault.
        assert len(program.of_type(VAULT)) == (2 if PROFILES[program.stack].dr_copy else 1)


def test_a_dev_stack_can_opt_in() -> None:
    program = run_program("dev", {"awsBackup": "true"})
    assert program.one(PLAN)["rules"][0]["lifecycle"]["deleteAfter"] == PROFILES["dev"].backup_retention_days


def test_vault_is_encrypted_with_the_cmk_and_protected_in_prod(staging: Program, prod: Program) -> None:
    for program in (staging, prod):
        vault = program.one(VAULT, "backup")
        assert vault["kmsKeyArn"] == program.one("aws:kms/key:Key", "data").outputs["arn"]
        is_prod = program.stack == "prod"
        assert vault.options["protect"] is is_prod
        # Prod recovery points never go away with a destroy: the vault is retained, not emptied.
        assert bool(vault.get("forceDestroy")) is not is_prod
        assert bool(vault.options["retainOnDelete"]) is is_prod


def test_plan_backs_up_daily_into_the_vault_with_the_profile_retention(staging: Program, prod: Program) -> None:
    for program in (staging, prod):
        [rule] = program.one(PLAN)["rules"]
        assert rule["targetVaultName"] == program.one(VAULT, "backup")["name"]
        schedule = rule["schedule"]
        assert schedule.startswith("cron(") and schedule.split()[2:5] == ["?", "*", "*"], schedule  # every day
        assert rule["lifecycle"]["deleteAfter"] == PROFILES[program.stack].backup_retention_days
        assert rule["startWindow"] >= 60  # AWS minimum
        assert rule["completionWindow"] >= rule["startWindow"] + 60
    assert prod.one(PLAN)["rules"][0]["lifecycle"]["deleteAfter"] >= 35


def test_selection_covers_the_cluster_and_every_table(staging: Program, prod: Program) -> None:
    for program in (staging, prod):
        selection = program.one(SELECTION)
        assert selection["planId"] == program.one(PLAN).id
        expected = {program.one("aws:rds/cluster:Cluster").outputs["arn"]} | {
            program.one("aws:dynamodb/table:Table", spec.logical).outputs["arn"] for spec in TABLES
        }
        assert set(selection["resources"]) == expected
        assert len(selection["resources"]) == 1 + len(TABLES)


def test_selection_role_holds_only_the_aws_managed_backup_policies(staging: Program, prod: Program) -> None:
    for program in (staging, prod):
        selection = program.one(SELECTION)
        role = next(r for r in program.of_type("aws:iam/role:Role") if r.outputs["arn"] == selection["iamRoleArn"])
        [trust] = json.loads(role["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
        attached = {
            a["policyArn"]
            for a in program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a["role"] in (role.id, role["name"])
        }
        assert attached == {
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        }
        assert not [p for p in program.of_type("aws:iam/rolePolicy:RolePolicy") if p["role"] == role.id]


# --------------------------------------------------------------------------- disaster recovery (prod)


def test_prod_copies_every_recovery_point_to_a_vault_in_the_dr_region(prod: Program) -> None:
    [rule] = prod.one(PLAN)["rules"]
    dr_vault = prod.one(VAULT, "dr-backup")
    [copy] = rule["copyActions"]
    assert copy["destinationVaultArn"] == dr_vault.outputs["arn"]
    assert copy["lifecycle"]["deleteAfter"] == PROFILES["prod"].backup_retention_days
    dr_region = prod.config["ecommerce:drRegion"]
    assert dr_region != prod.config["aws:region"]
    assert dr_vault.outputs["arn"].startswith(f"arn:aws:backup:{dr_region}:")
    # Through an explicit provider for the second region, parented to the component.
    provider = prod.provider_of(dr_vault)
    assert provider is not None and provider["region"] == dr_region
    backups = next(r for r in prod if r.type == "ecommerce:data:Backups")
    assert provider.parent == backups.urn and dr_vault.parent == backups.urn


def test_the_copies_are_encrypted_with_a_key_in_the_dr_region(prod: Program) -> None:
    dr_vault = prod.one(VAULT, "dr-backup")
    key = prod.one("aws:kms/key:Key", "dr-backup")
    dr_region = prod.config["ecommerce:drRegion"]
    assert dr_vault["kmsKeyArn"] == key.outputs["arn"]
    assert key.outputs["arn"].startswith(f"arn:aws:kms:{dr_region}:"), "AWS Backup copies into a key of that region"
    assert prod.provider_of(key) == prod.provider_of(dr_vault)
    assert key["enableKeyRotation"] is True
    # The copies are only as durable as their key: both outlive a destroy, with the vault.
    assert key.options["retainOnDelete"] and dr_vault.options["retainOnDelete"]
    assert not dr_vault.get("forceDestroy")


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_other_stacks_have_no_dr_copy(stack: str) -> None:
    program = program_for(stack)
    assert program.of_type(VAULT) == [] or [v.name for v in program.of_type(VAULT)] == ["backup"]
    assert all(not rule.get("copyActions") for plan in program.of_type(PLAN) for rule in plan["rules"])


def test_dr_needs_a_second_region() -> None:
    with pytest.raises(SettingsError, match="drRegion is required"):
        run_program("prod", {"drRegion": None})
    with pytest.raises(SettingsError, match="must differ"):
        run_program("prod", {"drRegion": "us-west-2"})
    with pytest.raises(SettingsError, match="awsBackup"):
        run_program("dev", {"drCopy": "true", "drRegion": "us-east-1"})
