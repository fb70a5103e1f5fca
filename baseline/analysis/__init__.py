"""Everything that judges access: the evaluator, per-principal access, the plan diff.

Reads plans and documents only. ``policy/``, ``baseline/ops/`` and the CLI may import it; settings,
spec, documents and components never do (``tests/test_import_graph.py`` holds that line).
"""
