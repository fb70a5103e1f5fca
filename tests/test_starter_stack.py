"""The starter stack a newcomer copies: one scenario, every key explained, every example marked."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import FIXTURES, ROOT, render_file

from baseline.config import ALICLOUD_SCENARIOS, AWS_SCENARIOS

EXAMPLE = FIXTURES / "Pulumi.example.yaml"
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


def test_every_example_stack_says_at_its_top_that_its_ids_are_examples():
    stacks = sorted(FIXTURES.glob("Pulumi.*.yaml"))
    assert len(stacks) >= 4
    for path in stacks:
        header = "\n".join(path.read_text().splitlines()[:3]).lower()
        assert header.startswith("#") and "example" in header and "id" in header, path.name


def test_the_first_stack_starts_from_a_starter_that_exists():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Your first stack") :]
    section = section[: section.index("\n## ", 3)]
    (copied,) = re.findall(r"^cp (\S+) stacks/Pulumi\.first\.yaml", section, re.MULTILINE)
    assert (ROOT / copied).is_file()
    assert (
        section.index(copied) < section.index("make plan STACK=first") < section.index("pulumi up -s first")
    )
    # The full walk starts from a starter too, before its first step.
    page = (ROOT / "docs" / "deploying.md").read_text()
    walk = page[page.index("## Deploying for real") :]
    assert walk.index("Pulumi.example.yaml") < walk.index("**1. Install.**")


# --- Placeholders the program recognises ---------------------------------------------------------


def plan_stderr(capsys, path) -> tuple[int, list[str]]:
    from baseline.cli import main

    code = main(["plan", "--stack", "first", "--format", "json", "--config-file", str(path)])
    return code, capsys.readouterr().err.splitlines()


def test_an_unedited_copy_of_the_starter_plans_with_one_warning_per_placeholder(tmp_path, capsys):
    first = tmp_path / "Pulumi.first.yaml"
    first.write_text(EXAMPLE.read_text())
    code, err = plan_stderr(capsys, first)
    assert code == 0
    assert err == [
        "warning: ecs-access-baseline:alicloud.accountId = '5000000000000001' is the starter's example "
        "Alibaba Cloud account id; replace it with your own (pulumi up refuses to start while it is here)",
        "warning: ecs-access-baseline:cloudAssistantLinux.instanceIds[0] = 'i-bp1example000000001' is the "
        "starter's example ECS instance id; replace it with your own (pulumi up refuses to start while it "
        "is here)",
    ]


def test_an_edited_starter_plans_without_a_warning(tmp_path, capsys):
    first = tmp_path / "Pulumi.first.yaml"
    text = EXAMPLE.read_text().replace("5000000000000001", "5123456789012345")
    first.write_text(text.replace("i-bp1example000000001", "i-bp1m2k3n4p5q6r7s8t9"))
    code, err = plan_stderr(capsys, first)
    assert (code, err) == (0, [])


def test_the_other_stack_files_and_a_pull_request_copy_of_dev_hold_no_placeholder():
    from baseline.config import example_values, load_stack_file, resolve
    from baseline.ops import ephemeral

    for path in sorted(FIXTURES.glob("Pulumi.*.yaml")):
        if path != EXAMPLE:
            assert example_values(resolve(load_stack_file(path))) == [], path.name
    test_stack = resolve(load_stack_file_from(ephemeral.document(12), "test-pr-12"))
    assert example_values(test_stack) == []


def load_stack_file_from(document: dict, stack: str):
    import tempfile
    from pathlib import Path

    from baseline.config import load_stack_file

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump(document))
        return load_stack_file(path)


def engine_config_of_the_starter() -> dict[str, str]:
    import json

    document = yaml.safe_load(EXAMPLE.read_text())["config"]
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}


@pytest.fixture
def runtime_config():
    from pulumi.runtime import config

    saved, saved_secrets = dict(config.CONFIG.get()), set(config._SECRET_KEYS.get())
    yield config
    config.set_all_config(saved, list(saved_secrets))


def test_pulumi_up_refuses_the_starter_placeholders_in_one_line(runtime_config, monkeypatch):
    import runpy

    import pulumi

    runtime_config.set_all_config(engine_config_of_the_starter(), [])
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    with pytest.raises(pulumi.RunError) as raised:
        runpy.run_path(str(ROOT / "__main__.py"))
    (line,) = str(raised.value).splitlines()
    assert line.startswith(
        "ecs-access-baseline:alicloud.accountId = '5000000000000001': this is the starter's example "
        "Alibaba Cloud account id, not a real one (and 1 more: cloudAssistantLinux.instanceIds[0])."
    )
    assert "Fix: replace it with your own Alibaba Cloud account id" in line


def test_a_preview_of_the_starter_warns_and_registers(runtime_config, monkeypatch):
    import runpy

    import pulumi

    from baseline.mocks import StrictMocks
    from baseline.plan import execute

    warned: list[str] = []
    runtime_config.set_all_config(engine_config_of_the_starter(), [])
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: True)
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **k: warned.append(message))
    monitor, _ = execute(
        lambda: runpy.run_path(str(ROOT / "__main__.py")) and {}, "first", StrictMocks("5000000000000001")
    )
    assert len(warned) == 2 and all("starter's example" in w for w in warned)
    assert any(r["type"] == "alicloud:ram/user:User" for r in monitor.registrations)
