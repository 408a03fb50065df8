"""Events: the custom EventBridge bus, its archive, and a registered schema per detail type.

- The bus ``ecommerce-events-<suffix>`` (``shop.events.bus_name``) receives what the outbox relay publishes.
  It keeps EventBridge's AWS-owned encryption: the details carry ids, amounts and statuses, never
  personal data (the notifier reads the order by id), and a customer-managed key on the bus would
  give every publisher and the archive a KMS dependency for no data worth it.
- The archive keeps every event of the bus ``ARCHIVE_RETENTION_DAYS`` for replay (after a consumer
  bug, replay into the bus; consumers dedupe on ``detail.event_id``).
- A schema registry ``ecommerce-events-<suffix>`` with one ``JSONSchemaDraft4`` schema per
  ``shop.events.DetailType`` (``ecommerce-order-placed-<suffix>`` and so on): the envelope (source,
  detail-type) around the repository's JSON Schema of the detail, so the registry and the tests
  read the same file.
- :meth:`publish_statement`: the IAM statement that lets a role put events on this bus only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.settings import Settings
from shop.events import (
    ARCHIVE_RETENTION_DAYS,
    SCHEMA_REGISTRY,
    SOURCE,
    DetailType,
    bus_name,
    envelope_schema,
    schema_name,
)


@dataclass
class EventsArgs:
    settings: Settings


class Events(pulumi.ComponentResource):
    """The bus, its archive, the schema registry and a schema per detail type."""

    bus: aws.cloudwatch.EventBus
    archive: aws.cloudwatch.EventArchive
    registry: aws.schemas.Registry
    schemas: dict[DetailType, aws.schemas.Schema]

    def __init__(self, name: str, args: EventsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:events:Events", name, None, opts)
        self._settings = args.settings
        self._child = pulumi.ResourceOptions(parent=self)
        self._bus()
        self._archive()
        self._schemas()
        self.register_outputs({"busName": self.bus.name, "busArn": self.bus.arn, "archiveName": self.archive.name})

    def _bus(self) -> None:
        self.bus = aws.cloudwatch.EventBus(
            "bus",
            name=bus_name(self._settings.suffix),
            description="The shop's order, stock and product events (the outbox relay publishes them)",
            opts=self._child,
        )

    def _archive(self) -> None:
        self.archive = aws.cloudwatch.EventArchive(
            "archive",
            name=self._settings.name("events-archive"),
            description="Every shop event on the bus, for replay",
            event_source_arn=self.bus.arn,
            event_pattern=json.dumps({"source": [SOURCE]}),
            retention_days=ARCHIVE_RETENTION_DAYS,
            opts=self._child,
        )

    def _schemas(self) -> None:
        self.registry = aws.schemas.Registry(
            "registry",
            name=self._settings.name(SCHEMA_REGISTRY),
            description="Schemas of the shop's events (shop/events/schemas in the repository)",
            opts=self._child,
        )
        self.schemas = {
            kind: aws.schemas.Schema(
                f"schema-{kind.value}",
                name=self._settings.name(schema_name(kind)),
                registry_name=self.registry.name,
                type="JSONSchemaDraft4",
                description=f"{kind.value}: detail version 1",
                content=json.dumps(envelope_schema(kind)),
                opts=self._child,
            )
            for kind in DetailType
        }

    def publish_statement(self) -> dict[str, Any]:
        """``events:PutEvents`` on this bus only (the relay and the API function after commit)."""
        return {
            "Sid": "PublishToTheShopsBus",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": self.bus.arn,
        }
