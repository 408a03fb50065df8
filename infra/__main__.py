"""The ecommerce platform: wires the components together and exports outputs.

Only wiring lives here. Each concern is a component in infra/components/.
"""

import pulumi

from infra.components.encryption import Encryption, EncryptionArgs
from infra.settings import load_settings
from infra.tagging import register_default_tags

settings = load_settings()
register_default_tags(settings)

encryption = Encryption("encryption", EncryptionArgs(settings=settings))

pulumi.export("environment", settings.environment)
pulumi.export("environmentSuffix", settings.suffix)
pulumi.export("region", settings.region)
pulumi.export("kmsKeyArn", encryption.key.arn)
