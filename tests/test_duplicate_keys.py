"""A key written twice anywhere in a stack file is refused, as the Pulumi CLI refuses the file.

The bad-stack battery holds the two a user meets (a scenario block pasted twice, a repeated
``runAsUsers``); these are the cases around them.
"""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from baseline.errors import ConfigError
from baseline.stackfile import read_yaml


def test_a_key_twice_inside_a_list_item_names_the_item_and_both_lines():
    text = """config:
  ecs-access-baseline:ecsMcpServer:
    boundary:
      extraDenyStatements:
        - sid: One
          actions: ["iam:*"]
          actions: ["s3:*"]
"""
    with pytest.raises(ConfigError) as refused:
        read_yaml(text, "Pulumi.dev.yaml")
    line = str(refused.value)
    assert line.startswith("ecs-access-baseline:ecsMcpServer.boundary.extraDenyStatements[0].actions:")
    assert "lines 6 and 7 of Pulumi.dev.yaml" in line and "Fix:" in line


def test_a_bare_key_twice_is_shown_as_written():
    with pytest.raises(ConfigError) as refused:
        read_yaml("config:\n  environment: dev\n  environment: prod\n", "Pulumi.x.yaml")
    assert str(refused.value).startswith("--config-file = 'Pulumi.x.yaml': `environment` is written twice")


def test_the_same_key_in_two_maps_and_merge_overrides_are_not_duplicates():
    text = """base: &base
  enabled: true
  mode: allow-list
one:
  <<: *base
  enabled: false
two:
  enabled: true
"""
    assert read_yaml(text) == {
        "base": {"enabled": True, "mode": "allow-list"},
        "one": {"enabled": False, "mode": "allow-list"},
        "two": {"enabled": True},
    }


def test_an_empty_document_is_none_and_yaml_errors_keep_their_type():
    import yaml

    assert read_yaml("") is None
    with pytest.raises(yaml.YAMLError):
        read_yaml("config: [unclosed\n")


def test_the_sweep_guard_reads_stack_files_the_same_way(tmp_path):
    from baseline.ops.sweep import _reaches

    path = tmp_path / "Pulumi.dev.yaml"
    text = (FIXTURES / "Pulumi.dev.yaml").read_text()
    path.write_text(text.replace("    prefix: dev-\n", "    prefix: dev-\n    prefix: prod-\n", 1))
    with pytest.raises(ConfigError, match=r"naming\.prefix: written twice in one map, at lines \d+ and \d+"):
        list(_reaches("pr1-", path))
