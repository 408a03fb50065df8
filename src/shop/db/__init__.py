"""Database access: connections (RDS Proxy with IAM tokens in AWS, a URL locally), migrations, seed data."""
