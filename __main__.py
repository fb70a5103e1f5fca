"""Entry point for `pulumi up`: read the stack's configuration, build, export."""

import pulumi

from baseline.config import from_pulumi_runtime, require_secrets, resolve
from baseline.errors import ConfigError
from baseline.program import build

try:
    resolved = resolve(from_pulumi_runtime(pulumi.get_stack()))
    # A referenced secret that is not set stops the run here, naming the command that sets it.
    require_secrets(resolved)
except ConfigError as error:
    # RunError prints one line, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

for key, value in build(resolved).items():
    pulumi.export(key, value)
