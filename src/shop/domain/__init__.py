"""The shop's domain: catalog, carts, checkout, orders and admin, on typed models (no HTTP here)."""
