"""One pulumi.ComponentResource per concern. Each takes a typed *Args dataclass."""
