"""Operations on deployed stacks: ``teardown``, ``sweep`` and throw-away PR stacks (``ephemeral``).

These modules never import ``baseline.cli``: the CLI imports them (lazily, per subcommand), and
anything both need (the repository root, where a stack's file lives) comes from
``baseline.stackfile``. ``tests/test_import_graph.py`` keeps it that way.
"""
