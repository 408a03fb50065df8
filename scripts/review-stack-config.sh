#!/usr/bin/env bash
# Select (creating it if needed) the review stack of a pull request and give it its config:
# the dev profile (Pulumi.dev.yaml's settings) with environmentSuffix = the stack name, so every
# physical name carries pr-<number>. Secrets come from the environment for this run only.
#   usage: scripts/review-stack-config.sh pr-123
#   env:   SECRETS_PROVIDER (optional, e.g. awskms://alias/pulumi-secrets?region=us-west-2)
#          STOREFRONT_CREDENTIAL (user:password the review storefront asks for)
set -euo pipefail
stack="${1:?usage: $0 pr-<number>}"
if [[ ! "$stack" =~ ^pr-[0-9]+$ ]]; then
  echo "review-stack-config: '$stack' is not a review stack name (pr-<number>)" >&2; exit 2
fi
cd "$(dirname "$0")/.."
create=(--create)
if [ -n "${SECRETS_PROVIDER:-}" ]; then create+=(--secrets-provider "$SECRETS_PROVIDER"); fi
pulumi stack select "${create[@]}" "$stack"
# The dev profile's plain settings, key by key (the stack file may hold encryption settings already).
.venv/bin/python - "$stack" <<'PY'
import subprocess
import sys

import yaml

stack = sys.argv[1]
config = yaml.safe_load(open("Pulumi.dev.yaml"))["config"]
config["ecommerce:environmentSuffix"] = stack
for key, value in config.items():
    if isinstance(value, dict):
        continue  # secrets are set below, from this run's environment
    subprocess.run(["pulumi", "config", "set", "--stack", stack, "--", key, str(value)], check=True)
PY
scripts/stack-credentials.sh "$stack"
