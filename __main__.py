"""Entry point for `pulumi up`: read the stack's configuration, build, export."""

import pulumi

from baseline.config import example_warnings, from_pulumi_runtime, refuse_examples, require_secrets, resolve
from baseline.errors import ConfigError, error_lines
from baseline.program import build

try:
    resolved = resolve(from_pulumi_runtime(pulumi.get_stack()))
    # A referenced secret that is not set stops the run here, naming the command that sets it.
    require_secrets(resolved)
    # So does a placeholder of the starter stack: `pulumi up` would create a policy naming an
    # account or instance that is not the user's. A preview only warns, as the offline plan does.
    if pulumi.runtime.is_dry_run():
        for warning in example_warnings(resolved):
            pulumi.log.warn(warning.removeprefix("warning: "))
    else:
        refuse_examples(resolved)
except ConfigError as error:
    # RunError prints its text without a Python traceback: one line per configuration error.
    raise pulumi.RunError("\n".join(error_lines(error))) from None

for key, value in build(resolved).items():
    pulumi.export(key, value)
