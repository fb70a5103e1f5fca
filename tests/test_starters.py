"""One starter per scenario (docs/starters/): each renders, passes the policy pack as shipped, and
holds only placeholders the program recognises, so the plan warns and `pulumi up` refuses."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT, render_file

from baseline.config import (
    ALICLOUD_SCENARIOS,
    AWS_SCENARIOS,
    example_values,
    load_stack_file,
    refuse_examples,
    resolve,
)
from baseline.errors import ConfigError

STARTERS = ROOT / "docs" / "starters"
SCENARIOS = [*ALICLOUD_SCENARIOS, *AWS_SCENARIOS, "pipeline"]
KEY_LINE = re.compile(r"^\s*(- )?[\w:-]+:")
# Values a newcomer must replace: each such line carries `# EXAMPLE`.
TO_CHANGE = (
    r'accountId: "\d+"',
    r'AccountId: "\d+"',
    r"- (?:id: )?i-\w+",
    r"prefix: \S+",
    r"region: \S+",
    r"runAsUsers: .*",
    r"ossBuckets: .*",
    r"repository(?:Id|OwnerId)?: \S+",
    r"- arn:\S+",
)


def starters() -> list:
    return sorted(STARTERS.glob("*.yaml"))


def enabled(path) -> list[str]:
    config = yaml.safe_load(path.read_text())["config"]
    return [key for key in SCENARIOS if (config.get(f"ecs-access-baseline:{key}") or {}).get("enabled")]


def test_each_scenario_has_exactly_one_starter_and_each_starter_one_scenario():
    on = {path.name: enabled(path) for path in starters()}
    assert all(len(scenarios) == 1 for scenarios in on.values()), on
    assert sorted(s for (s,) in on.values()) == sorted(SCENARIOS)


def test_the_linux_starter_is_the_example_stack():
    # stacks/Pulumi.example.yaml stays the stack the suite and the walk use; the two never drift.
    example = (ROOT / "stacks" / "Pulumi.example.yaml").read_text()
    assert (STARTERS / "cloud-assistant-linux.yaml").read_text() == example


@pytest.mark.parametrize("path", starters(), ids=lambda p: p.stem)
def test_the_starter_renders_and_passes_the_policy_pack(path):
    from policy import offline

    plan = render_file(path, "first")
    assert plan["resources"]
    assert [v for v in offline.run(plan) if v.mandatory] == []
    assert [v for v in offline.run(plan) if not v.mandatory] == []


@pytest.mark.parametrize("path", starters(), ids=lambda p: p.stem)
def test_the_plan_warns_and_a_real_run_refuses_until_the_placeholders_are_replaced(path):
    resolved = resolve(load_stack_file(path, "first"))
    assert example_values(resolved)
    with pytest.raises(ConfigError, match="the starter's example"):
        refuse_examples(resolved)


@pytest.mark.parametrize("path", starters(), ids=lambda p: p.stem)
def test_every_key_has_a_comment_and_every_value_to_change_is_marked(path):
    lines = path.read_text().splitlines()
    header = "\n".join(lines[:3]).lower()
    assert header.startswith("#") and "example" in header and "id" in header
    for number, line in enumerate(lines):
        if not KEY_LINE.match(line) or line.startswith("config:"):
            continue
        assert "#" in line or lines[number - 1].strip().startswith("#"), f"line {number + 1}: {line}"
    text = path.read_text()
    for pattern in TO_CHANGE:
        for match in re.finditer(pattern, text):
            line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())]
            assert "# EXAMPLE" in line, line


def test_an_aws_account_placeholder_is_seen_wherever_an_account_is_named(tmp_path):
    stack = tmp_path / "Pulumi.first.yaml"
    text = (STARTERS / "ecs-mcp-server.yaml").read_text()
    stack.write_text(text)
    assert [p.setting for p in example_values(resolve(load_stack_file(stack)))] == ["aws.accountId"]
    stack.write_text(text.replace('"500000000001"', '"210987654321"'))
    assert example_values(resolve(load_stack_file(stack))) == []
    pipeline = resolve(load_stack_file(STARTERS / "pipeline.yaml", "pipeline"))
    assert [p.setting for p in example_values(pipeline)] == [
        "alicloud.accountId",
        "pipeline.environments[0].alicloudAccountId",
    ]
