"""ecs-access-baseline: everything that is not a cloud resource.

The configuration model, naming, policy documents (pure functions), the strict mocks and the
offline plan live here; the Pulumi ComponentResources live in the top-level ``components``
package.
"""

PROJECT = "ecs-access-baseline"
