"""The shop: API Lambda, edge function, migrations and local platform. Never imports Pulumi."""
