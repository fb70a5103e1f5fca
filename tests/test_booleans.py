"""Boolean settings take exactly what Pulumi takes: YAML's booleans and the words of get_bool.

``pulumi config set`` writes "true"/"false", and the SDK's ``Config.get_bool`` refuses any other
word; a stack that says ``enabled: "yes"`` must not be read as true offline.
"""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from baseline.config import RawConfig, resolve
from baseline.errors import ConfigError
from baseline.settings import pulumi_bool
from baseline.stackfile import read_yaml

YAML_1_2 = ["true", "True", "TRUE", "false", "False", "FALSE"]
YAML_1_1_ONLY = ["yes", "no", "on", "off", "y", "n"]
WORDS = [*YAML_1_2, *YAML_1_1_ONLY, "1", "0", "t", ""]


def sdk_get_bool(word: str) -> bool | None:
    """What the Pulumi SDK's own Config.get_bool makes of ``word`` (None: it refuses it)."""
    runtime_config.set_config("boolcheck:flag", word)
    try:
        return pulumi.Config("boolcheck").get_bool("flag")
    except pulumi.ConfigTypeError:
        return None


def ours(word: str) -> bool | None:
    try:
        return pulumi_bool(word)
    except ValueError:
        return None


@pytest.mark.parametrize("word", WORDS)
def test_a_word_is_a_boolean_exactly_when_get_bool_says_so(word: str):
    assert ours(word) == sdk_get_bool(word)


def test_yaml_booleans_are_yaml_1_2_ones_as_the_pulumi_cli_reads_them():
    # go-yaml v3 (the Pulumi CLI): true/false in any of three cases are booleans; yes/no/on/off
    # are strings, which the settings then refuse.
    document = read_yaml("a: true\nb: False\nc: TRUE\nd: yes\ne: off\nf: 'true'\n")
    assert document == {"a": True, "b": False, "c": True, "d": "yes", "e": "off", "f": "true"}


def stack(enabled: object) -> RawConfig:
    return RawConfig(
        values={
            "environment": "dev",
            "naming": {"prefix": "t-"},
            "alicloud": {"accountId": "5012345678901234", "region": "cn-hangzhou", "strictScoping": False},
            "cloudAssistantLinux": {"enabled": enabled, "runAsUsers": ["user01"]},
        },
        secrets={},
    )


def test_what_pulumi_config_set_writes_is_taken():
    assert resolve(stack("true")).settings.cloud_assistant_linux.enabled is True
    assert resolve(stack("False")).settings.cloud_assistant_linux.enabled is False


@pytest.mark.parametrize("word", ["yes", "on", "1", 1, "TRUE"])
def test_other_words_are_refused_with_one_line(word: object):
    with pytest.raises(ConfigError) as refused:
        resolve(stack(word))
    line = str(refused.value)
    assert line.startswith(f"ecs-access-baseline:cloudAssistantLinux.enabled = {word!r}:")
    assert line.endswith("Fix: write true or false") and "\n" not in line
