"""Scheduled jobs run with the API image and their own command (see ARCHITECTURE.md, "Order lifecycle")."""
