"""Teardown destroys throw-away test stacks, and nothing else.

The Automation API workspace is replaced by a fake that records what teardown asks of it, so
these tests run without the Pulumi CLI; the last test runs the real thing when it can.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import FIXTURES, ROOT

from baseline import cli
from baseline.ops import ephemeral, teardown
from baseline.ops.teardown import DestroyFailed, Progress

ALIYUN_POLICY = "alicloud:ram/policy:Policy"
ALIYUN_USER = "alicloud:ram/user:User"
NAMED_IDENTITIES = (
    ALIYUN_USER,
    ALIYUN_POLICY,
    "alicloud:ram/role:Role",
    "aws:iam/role:Role",
    "aws:iam/policy:Policy",
)


def state(*resources: tuple[str, str, bool]) -> dict:
    """A stack export: the root stack plus (type, name, protect) resources."""
    root = {
        "urn": "urn:pulumi:test-pr-7::ecs-access-baseline::pulumi:pulumi:Stack::x",
        "type": "pulumi:pulumi:Stack",
    }
    rows = [
        {
            "urn": f"urn:pulumi:test-pr-7::ecs-access-baseline::{type_}::{name}",
            "type": type_,
            "protect": protect,
        }
        for type_, name, protect in resources
    ]
    return {"manifest": {}, "resources": [root, *rows]}


class FakeWorkspace:
    """Records each call; ``destroy`` replays a delete event pair per resource in the state."""

    def __init__(self, deployment: dict, fail_after: int | None = None) -> None:
        self.deployment = deployment
        self.fail_after = fail_after
        self.calls: list[str] = []
        self.imported: dict | None = None

    def export_stack(self) -> dict:
        self.calls.append("export")
        return self.deployment

    def import_stack(self, deployment: dict) -> None:
        self.calls.append("import")
        self.imported = deployment
        self.deployment = deployment

    def destroy(self, on_progress) -> None:
        self.calls.append("destroy")
        if any(r.get("protect") for r in self.deployment["resources"]):
            raise DestroyFailed("error: resource is protected")
        rows = teardown.resource_rows(self.deployment)
        for index, row in enumerate(rows):
            name = row["urn"].rsplit("::", 1)[-1]
            on_progress(Progress("deleting", row["type"], name))
            if self.fail_after is not None and index == self.fail_after:
                on_progress(Progress("failed", row["type"], name))
                raise DestroyFailed("\nerror: deleting RAM user: EntityNotExist.User\nmore detail")
            on_progress(Progress("deleted", row["type"], name))

    def remove_stack(self) -> None:
        self.calls.append("remove")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def test_stack(tmp_path):
    """A PR test stack file, generated the way CI generates it."""
    return ephemeral.write(7, stacks_dir=tmp_path)


def run(path, workspace, *, yes=True, stdin=None):
    out = io.StringIO()
    code = teardown.run(
        "test-pr-7",
        yes=yes,
        config_file=str(path),
        workspace_factory=lambda stack, config_file: workspace,
        stdin=stdin or io.StringIO(),
        out=out,
        clock=iter([100.0, 112.5]).__next__,
    )
    return code, out.getvalue()


TWO_RESOURCES = state(
    (ALIYUN_USER, "cloud-assistant-linux-command-user-user", True), (ALIYUN_POLICY, "policy", False)
)


def test_prod_is_refused_by_name_before_anything_is_touched(capsys):
    code = cli.main(["teardown", "--stack", "prod", "--yes"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "prod" in err and "Fix:" in err


def test_a_stack_file_saying_environment_prod_is_refused_whatever_its_name(tmp_path, capsys, monkeypatch):
    copy = tmp_path / "Pulumi.renamed.yaml"
    copy.write_text((FIXTURES / "Pulumi.prod.yaml").read_text())
    monkeypatch.setattr(teardown, "open_workspace", lambda *a: pytest.fail("workspace opened"))
    code = cli.main(["teardown", "--stack", "renamed", "--yes", "--config-file", str(copy)])
    err = capsys.readouterr().err
    assert code == 2
    assert "environment = 'prod'" in err and "Fix:" in err


@pytest.mark.parametrize("environment", ["production", "Prod"])
def test_a_test_stack_whose_environment_reads_as_production_is_refused(
    environment, tmp_path, capsys, monkeypatch
):
    # A hand-edited name outside the enumeration is production to config and the pack: teardown agrees.
    path = tmp_path / "Pulumi.test-pr-9.yaml"
    path.write_text(
        f"config:\n  ecs-access-baseline:environment: {environment}\n  ecs-access-baseline:testStack: true\n"
    )
    monkeypatch.setattr(teardown, "open_workspace", lambda *a: pytest.fail("workspace opened"))
    code = cli.main(["teardown", "--stack", "test-pr-9", "--yes", "--config-file", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert f"environment = '{environment}'" in err and "production stack" in err and "Fix:" in err


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_a_stack_not_marked_as_test_stack_is_refused(stack, capsys, monkeypatch):
    monkeypatch.setattr(teardown, "open_workspace", lambda *a: pytest.fail("workspace opened"))
    code = cli.main(["teardown", "--stack", stack, "--yes"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert "testStack" in err and stack in err and "Fix:" in err


def test_without_a_terminal_and_without_yes_it_refuses_to_prompt(test_stack, capsys):
    workspace = FakeWorkspace(TWO_RESOURCES)
    code, _out = run(test_stack, workspace, yes=False, stdin=io.StringIO("test-pr-7\n"))
    assert code == 2
    assert "--yes" in capsys.readouterr().err
    assert workspace.calls == []


def test_a_mistyped_confirmation_cancels_and_destroys_nothing(test_stack):
    workspace = FakeWorkspace(TWO_RESOURCES)
    code, out = run(test_stack, workspace, yes=False, stdin=Terminal("test-pr-8\n"))
    assert code == 130
    assert "Cancelled" in out
    assert workspace.calls == ["export"]


def test_typing_the_stack_name_confirms(test_stack):
    workspace = FakeWorkspace(TWO_RESOURCES)
    code, _out = run(test_stack, workspace, yes=False, stdin=Terminal("test-pr-7\n"))
    assert code == 0
    assert workspace.calls[-1] == "remove"


def test_it_lists_every_resource_it_will_destroy_before_destroying(test_stack):
    workspace = FakeWorkspace(TWO_RESOURCES)
    _code, out = run(test_stack, workspace)
    listing = out[: out.index("Unprotected")]
    assert "2 resources will be destroyed" in listing
    for row in teardown.resource_rows(TWO_RESOURCES):
        assert f"{row['type']}  {row['urn'].rsplit('::', 1)[-1]}" in listing
    assert "pulumi:pulumi:Stack" not in listing


def test_yes_unprotects_then_destroys_then_removes_the_stack(test_stack):
    workspace = FakeWorkspace(TWO_RESOURCES)
    code, _ = run(test_stack, workspace)
    assert code == 0
    assert workspace.calls == ["export", "import", "destroy", "remove"]
    assert not any(r.get("protect") for r in workspace.imported["resources"])


def test_nothing_protected_means_no_state_edit(test_stack):
    workspace = FakeWorkspace(state((ALIYUN_POLICY, "policy", False)))
    code, _ = run(test_stack, workspace)
    assert code == 0
    assert workspace.calls == ["export", "destroy", "remove"]


def test_progress_is_a_line_per_resource_event_and_the_summary_counts_and_times(test_stack):
    workspace = FakeWorkspace(TWO_RESOURCES)
    _code, out = run(test_stack, workspace)
    lines = out.splitlines()
    for row in teardown.resource_rows(TWO_RESOURCES):
        name = row["urn"].rsplit("::", 1)[-1]
        assert str(Progress("deleting", row["type"], name)) in lines
        assert str(Progress("deleted", row["type"], name)) in lines
    assert lines[-1] == "Tore down test-pr-7: 2 resources destroyed in 12.5s; stack removed."


def test_a_failed_destroy_exits_1_keeps_the_stack_and_says_how_far_it_got(test_stack, capsys):
    workspace = FakeWorkspace(TWO_RESOURCES, fail_after=1)
    code, _out = run(test_stack, workspace)
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "remove" not in workspace.calls
    assert "after 1 of 2 resources" in err
    assert "EntityNotExist.User" in err and "Fix:" in err
    assert len(err.splitlines()) == 1


def test_a_stack_the_backend_does_not_know_is_nothing_to_tear_down(test_stack):
    def missing(stack, config_file):
        raise teardown.StackMissing(stack)

    out = io.StringIO()
    code = teardown.run(
        "test-pr-7", yes=True, config_file=str(test_stack), workspace_factory=missing, out=out
    )
    assert code == 0
    assert "nothing to tear down" in out.getvalue()


def test_engine_delete_events_become_progress_lines_and_other_events_do_not():
    from pulumi.automation import events

    def event(kind, op, type_="alicloud:ram/user:User"):
        meta = events.StepEventMetadata(
            op=events.OpType(op), urn=f"urn:pulumi:s::p::{type_}::u1", type=type_, provider=""
        )
        inner = {"resource_pre_event": events.ResourcePreEvent(meta)} if kind == "pre" else {}
        if kind == "post":
            inner = {"res_outputs_event": events.ResOutputsEvent(meta)}
        if kind == "failed":
            inner = {"res_op_failed_event": events.ResOpFailedEvent(meta, status=1, steps=1)}
        return events.EngineEvent(sequence=1, timestamp=0, **inner)

    assert teardown.progress_of(event("pre", "delete")) == Progress(
        "deleting", "alicloud:ram/user:User", "u1"
    )
    assert teardown.progress_of(event("post", "delete")) == Progress(
        "deleted", "alicloud:ram/user:User", "u1"
    )
    assert teardown.progress_of(event("failed", "delete")).status == "failed"
    assert teardown.progress_of(event("pre", "same")) is None
    assert teardown.progress_of(event("post", "delete", "pulumi:pulumi:Stack")) is None
    assert teardown.progress_of(events.EngineEvent(sequence=2, timestamp=0)) is None


def test_the_generated_pr_stack_is_a_valid_test_stack_with_its_own_names(test_stack):
    from conftest import render_file

    document = yaml.safe_load(test_stack.read_text())["config"]
    assert document["ecs-access-baseline:testStack"] is True
    assert document["ecs-access-baseline:environment"] != "prod"
    plan = render_file(test_stack, "test-pr-7")
    names = [
        r["inputs"].get(key)
        for r in plan["resources"]
        for key in ("name", "roleName", "policyName")
        if r["type"] in NAMED_IDENTITIES and r["inputs"].get(key)
    ]
    assert names and all(name.startswith(ephemeral.naming_prefix(7)) for name in names)
    assert not any(r["protect"] for r in plan["resources"])


def test_the_generated_pr_stack_claims_no_instance_and_no_account_singleton(test_stack):
    """Dev's instances already carry dev's roles, and destroying a PR stack must not delete the
    ECI service-linked role dev uses."""
    from conftest import render_file

    types = {r["type"] for r in render_file(test_stack, "test-pr-7")["resources"]}
    assert "alicloud:ecs/ramRoleAttachment:RamRoleAttachment" not in types
    assert "alicloud:resourcemanager/serviceLinkedRole:ServiceLinkedRole" not in types


def test_the_generated_pr_stack_can_point_at_a_test_account(tmp_path):
    path = ephemeral.write(9, stacks_dir=tmp_path, alicloud_account_id="5000000000000009")
    config = yaml.safe_load(path.read_text())["config"]
    assert config["ecs-access-baseline:alicloud"]["accountId"] == "5000000000000009"
    assert config["ecs-access-baseline:alicloud"]["region"] == "cn-hangzhou"


def _credentials_present() -> bool:
    passphrase = "PULUMI_CONFIG_PASSPHRASE" in os.environ or "PULUMI_ACCESS_TOKEN" in os.environ
    return passphrase and bool(os.environ.get("ALICLOUD_ACCESS_KEY"))


@pytest.mark.integration
@pytest.mark.skipif(
    not _credentials_present(), reason="no Alibaba Cloud credentials or Pulumi passphrase/token"
)
@pytest.mark.skipif(shutil.which("pulumi") is None, reason="the Pulumi CLI is not installed")
@pytest.mark.shipped  # a real stack in stacks/, where the Pulumi CLI reads it
def test_a_real_pr_stack_is_deployed_then_torn_down(tmp_path, monkeypatch):
    """Deploys a PR stack into the test account for real, then tears it down and checks it is gone."""
    from pulumi import automation as auto

    pr = 999999
    stack = ephemeral.stack_name(pr)
    path = ephemeral.write(pr)
    # A throw-away local backend unless one is configured: the test must not need shared state.
    monkeypatch.setenv("PULUMI_BACKEND_URL", os.environ.get("PULUMI_BACKEND_URL", f"file://{tmp_path}"))
    env = dict(os.environ)
    try:
        created = auto.create_or_select_stack(stack_name=stack, work_dir=str(ROOT))
        created.up(on_output=print)
        result = subprocess.run(
            [sys.executable, "-m", "baseline", "teardown", "--stack", stack, "--yes"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "stack removed" in result.stdout
        with pytest.raises(auto.StackNotFoundError):
            auto.select_stack(stack_name=stack, work_dir=str(ROOT))
    finally:
        path.unlink(missing_ok=True)
