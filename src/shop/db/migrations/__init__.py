"""Versioned SQL migrations, applied in order by ``python -m shop.db.migrate``."""
