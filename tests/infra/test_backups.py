"""AWS Backup: present in staging and prod only, an encrypted vault, a daily plan
with the profile's retention, and a selection of exactly the cluster and every
table through a role with the AWS-managed backup policies."""

from __future__ import annotations

import json

from infra.settings import PROFILES
from shop.declarations import TABLES
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
        assert len(program.of_type(VAULT)) == len(program.of_type(PLAN)) == len(program.of_type(SELECTION)) == 1


def test_a_dev_stack_can_opt_in() -> None:
    program = run_program("dev", {"awsBackup": "true"})
    assert program.one(PLAN)["rules"][0]["lifecycle"]["deleteAfter"] == PROFILES["dev"].backup_retention_days


def test_vault_is_encrypted_with_the_cmk_and_protected_in_prod(staging: Program, prod: Program) -> None:
    for program in (staging, prod):
        vault = program.one(VAULT)
        assert vault["kmsKeyArn"] == program.one("aws:kms/key:Key").outputs["arn"]
        is_prod = program.stack == "prod"
        assert vault.options["protect"] is is_prod
        # Prod recovery points never go away with a destroy.
        assert bool(vault.get("forceDestroy")) is not is_prod


def test_plan_backs_up_daily_into_the_vault_with_the_profile_retention(staging: Program, prod: Program) -> None:
    for program in (staging, prod):
        [rule] = program.one(PLAN)["rules"]
        assert rule["targetVaultName"] == program.one(VAULT)["name"]
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
