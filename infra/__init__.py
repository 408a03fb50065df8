"""The Pulumi program for the ecommerce platform. Entry point: infra/__main__.py."""
