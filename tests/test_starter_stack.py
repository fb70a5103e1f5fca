"""The starter stack a newcomer copies: one scenario, every key explained, every example marked."""

from __future__ import annotations

import re

import yaml
from conftest import ROOT, render_file

from baseline.config import ALICLOUD_SCENARIOS, AWS_SCENARIOS

EXAMPLE = ROOT / "stacks" / "Pulumi.example.yaml"
KEY_LINE = re.compile(r"^\s*(- )?[\w:-]+:")


def test_the_starter_renders_with_exactly_one_scenario_on():
    config = yaml.safe_load(EXAMPLE.read_text())["config"]
    on = [
        key
        for key in [*ALICLOUD_SCENARIOS, *AWS_SCENARIOS]
        if (config.get(f"ecs-access-baseline:{key}") or {}).get("enabled")
    ]
    assert on == ["cloudAssistantLinux"]
    plan = render_file(EXAMPLE, "example")
    users = [r["inputs"]["name"] for r in plan["resources"] if r["type"] == "alicloud:ram/user:User"]
    assert users == ["example-commandUser"]


def test_every_key_of_the_starter_has_a_comment():
    lines = EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if not KEY_LINE.match(line) or line.startswith("config:"):
            continue
        before = lines[number - 1].strip()
        assert "#" in line or before.startswith("#"), f"line {number + 1} has no comment: {line}"


def test_every_value_to_change_is_marked_as_an_example():
    text = EXAMPLE.read_text()
    for pattern in (r'accountId: "\d{16}"', r"- i-\w+", r"prefix: \S+", r"region: \S+", r"runAsUsers: .*"):
        for match in re.finditer(pattern, text):
            line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())]
            assert "# EXAMPLE" in line, line


def test_every_checked_in_stack_says_at_its_top_that_its_ids_are_examples():
    stacks = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
    assert len(stacks) >= 4
    for path in stacks:
        if path.name.startswith("Pulumi.test-pr-"):
            continue  # generated in CI, git-ignored
        header = "\n".join(path.read_text().splitlines()[:3]).lower()
        assert header.startswith("#") and "example" in header and "id" in header, path.name


def test_the_readme_first_deploy_starts_from_the_starter():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Deploying for real") :]
    section = section[: section.index("\n## ", 3)]
    assert section.index("Pulumi.example.yaml") < section.index("1. ")
    assert "make plan STACK=first" in section
