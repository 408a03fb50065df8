"""The shop on one machine (see `make dev`)."""
