"""The workflows pass a GitHub Actions security scanner and hold no long-lived cloud key.

zizmor (pinned in requirements.txt) audits every workflow under ``.github/workflows`` and the
Dependabot config, offline (no GitHub API calls), with its default persona. A finding fails the
suite; a suppression (``# zizmor: ignore[rule]``) is accepted only with a written reason on the
same line.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

GITHUB = ROOT / ".github"
WORKFLOWS = sorted([*(GITHUB / "workflows").glob("*.yml"), *(GITHUB / "workflows").glob("*.yaml")])
ZIZMOR = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
FULL_SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+(\.\d+){0,2}$")
# Names a stored cloud key would travel under. The Alibaba action exports ALICLOUD_ACCESS_KEY to
# later steps itself (short-lived STS values), so no workflow needs to spell any of these.
LONG_LIVED_KEYS = re.compile(
    r"ALICLOUD_(ACCESS|SECRET)_KEY|ALIBABA_CLOUD_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY"
    r"|aws-access-key-id|aws-secret-access-key|aliyun-access-key"
)


@pytest.fixture(scope="module")
def zizmor_run() -> subprocess.CompletedProcess[str]:
    if ZIZMOR is None:
        pytest.skip("zizmor is not installed: run `make .venv/.requirements-installed`")
    return subprocess.run(
        [ZIZMOR, "--offline", "--format", "json", "--no-progress", str(GITHUB)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_zizmor_reports_no_finding(zizmor_run):
    findings = json.loads(zizmor_run.stdout or "[]")
    summary = [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']} at "
        f"{f['locations'][0]['symbolic']['key']}"
        for f in findings
    ]
    assert not summary, "\n".join(summary)
    # zizmor exits 0 without findings; anything else is a failure to audit.
    assert zizmor_run.returncode == 0, zizmor_run.stderr


def test_zizmor_audited_every_workflow_file(zizmor_run):
    audited = {Path(p).name for p in re.findall(r"completed (\S+)", zizmor_run.stderr)}
    assert WORKFLOWS
    missing = sorted(p.name for p in WORKFLOWS if p.name not in audited)
    assert not missing, f"zizmor did not audit {missing}: {zizmor_run.stderr}"
    assert "dependabot.yml" in audited


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_a_zizmor_suppression_carries_a_reason(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if match := re.search(r"zizmor:\s*ignore\[[^\]]+\](.*)$", line):
            reason = match.group(1).strip(" -:#")
            assert len(reason) >= 10, f"{path.name}:{number}: a suppression needs a written reason"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version_in_a_comment(path):
    pinned = 0
    for line in path.read_text().splitlines():
        if match := re.match(r"^\s*-?\s*uses:\s*(.+)$", line):
            pinned += 1
            assert FULL_SHA.fullmatch(match.group(1).strip()), f"{path.name}: {match.group(1)}"
    assert pinned, f"{path.name} uses no action"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_never_persists_the_token(path):
    workflow = yaml.safe_load(path.read_text())
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name}:{name}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_empty_by_default_and_granted_per_job(path):
    workflow = yaml.safe_load(path.read_text())
    # Nothing, or at most reading the code, for every job by default; each job asks for more.
    assert workflow.get("permissions") in ({}, {"contents": "read"}), f"{path.name}: set `permissions: {{}}`"
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"{path.name}:{name} needs its own permissions"
        assert "write-all" not in str(granted) and "read-all" not in str(granted)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_workflow_names_a_long_lived_cloud_key(path):
    found = LONG_LIVED_KEYS.findall(path.read_text())
    assert not found, f"{path.name} names a stored cloud key: {sorted(set(found))}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_expanded_inside_a_shell_command(path):
    """Values reach `run:` through `env:`, so nothing a PR controls becomes shell code."""
    workflow = yaml.safe_load(path.read_text())
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{path.name}:{name}: {step['run']!r}"


def test_dependabot_keeps_actions_and_python_pins_current():
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in config["updates"]}
    assert {"github-actions", "pip"} <= set(ecosystems)
    for update in ecosystems.values():
        assert update["directory"] == "/" and update["schedule"]["interval"]
