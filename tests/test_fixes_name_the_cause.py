"""A fix names what the user actually did, not a neighbouring mistake."""

from __future__ import annotations

from conftest import ROOT

from baseline.config import load_stack_file, resolve
from baseline.errors import ConfigError

BAD = ROOT / "tests" / "bad_stacks"


def refusal(name: str) -> str:
    try:
        resolve(load_stack_file(BAD / name))
    except ConfigError as error:
        return str(error)
    raise AssertionError(f"{name} was accepted")


def test_a_bare_key_is_shown_as_written_and_gets_the_namespace_as_its_fix():
    line = refusal("environment_without_namespace.yaml")
    assert line.startswith("environment: this key has no namespace")
    assert line.endswith("Fix: write it as ecs-access-baseline:environment")
    assert ":alicloud" not in line and ":aws" not in line


def test_a_provider_key_still_says_the_provider_is_explicit():
    line = refusal("provider_namespace_key.yaml")
    assert line.startswith("alicloud:region:") and "ecs-access-baseline:alicloud" in line


def test_an_oversized_command_policy_names_the_list_that_grew_it():
    users = refusal("s2_run_as_users_overflow_policy.yaml")
    assert "list fewer entries in cloudAssistantLinux.runAsUsers (its 200 entries" in users
    assert "instance" not in users.partition("Fix:")[2]
    instances = refusal("s2_instance_ids_overflow_policy.yaml")
    assert "list fewer entries in cloudAssistantLinux.instanceIds (its 110 entries" in instances
