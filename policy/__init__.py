"""The CrossGuard policy pack ``ecs-access-baseline`` (rules in ``policy.rules``).

``policy/__main__.py`` builds the pack for ``pulumi preview --policy-pack policy``;
``policy.offline`` runs the same validators over the offline plan without the Pulumi CLI.
"""
