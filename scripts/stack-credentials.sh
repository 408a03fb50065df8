#!/usr/bin/env bash
# Give a stack the settings that never live in a committed stack file, from this run's environment
# (GitHub secrets and variables in the workflows): each is set only when its variable is non-empty.
#   usage: scripts/stack-credentials.sh <stack>
#   env:   STOREFRONT_CREDENTIAL (user:password, dev and staging), STRIPE_SECRET_KEY,
#          STRIPE_WEBHOOK_SECRET and STRIPE_PUBLISHABLE_KEY (every stack; the key is plain config and
#          may be committed in Pulumi.<stack>.yaml instead), ALARM_EMAIL (required in prod)
set -euo pipefail
stack="${1:?usage: $0 <stack>}"
secret() { if [ -n "${2:-}" ]; then pulumi config set --secret --stack "$stack" "$1" -- "$2"; fi; }
plain() { if [ -n "${2:-}" ]; then pulumi config set --stack "$stack" "$1" -- "$2"; fi; }
if [ "$stack" != "prod" ]; then secret storefrontCredential "${STOREFRONT_CREDENTIAL:-}"; fi
secret stripeSecretKey "${STRIPE_SECRET_KEY:-}"
secret stripeWebhookSecret "${STRIPE_WEBHOOK_SECRET:-}"
plain stripePublishableKey "${STRIPE_PUBLISHABLE_KEY:-}"
plain alarmEmail "${ALARM_EMAIL:-}"
