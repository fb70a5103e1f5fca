"""Pulumi ComponentResources, one module per concept.

Building blocks (``ram_user``, ``alicloud_identities``) and one component per scenario. Every
child is registered with ``parent=self`` and named ``f"{name}-<role>"`` so two instances never
collide; every component ends with ``register_outputs``.
"""

PACKAGE = "ecs-access-baseline"
