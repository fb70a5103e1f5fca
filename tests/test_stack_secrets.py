"""`baseline secrets`: what a stack still needs, and storing one through the Pulumi CLI."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import FIXTURES, ROOT
from pulumi_crypt import decrypt, encrypt, key_for, new_salt_state

from baseline import stack_secrets
from baseline.cli import main
from baseline.errors import ConfigError


class FakeStore:
    """Stands in for the Automation API workspace (as baseline.ops.teardown's tests do)."""

    def __init__(self, fail: str | None = None):
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def set_secret(self, path: str, value: str) -> None:
        if self.fail:
            raise stack_secrets.StoreFailed(self.fail)
        self.calls.append((path, value))


def answers(*values: str):
    queue = list(values)
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return queue.pop(0)

    prompt.prompts = prompts  # type: ignore[attr-defined]
    return prompt


def test_the_list_names_each_secret_its_purpose_and_the_commands_to_set_it():
    out = io.StringIO()
    code = stack_secrets.run("dev", out=out)
    text = out.getvalue()
    assert code == stack_secrets.EXIT_NEEDED  # something is still to set
    assert "axtSecretPassword  [NOT SET]  Windows logon password stored in the OOS parameter" in text
    assert ".venv/bin/python -m baseline secrets --stack dev --set axtSecretPassword" in text
    assert "pulumi config set --secret --path 'secrets.axtSecretPassword' -s dev" in text


def test_a_secret_in_the_stack_file_counts_as_set(tmp_path):
    salt, key = new_salt_state("test passphrase")
    document = yaml.safe_load((FIXTURES / "Pulumi.dev.yaml").read_text())
    document["encryptionsalt"] = salt
    document["config"]["ecs-access-baseline:secrets"] = {
        "axtSecretPassword": {"secure": encrypt(key, "P@ss-1")}
    }
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(document))
    out = io.StringIO()
    assert stack_secrets.run("dev", config_file=str(path), out=out) == stack_secrets.EXIT_OK
    assert "[set]" in out.getvalue() and "0 still to set" in out.getvalue()


def test_set_prompts_twice_without_echo_and_stores_a_secret_by_path():
    store, prompt, out = FakeStore(), answers("Windows-Passw0rd!", "Windows-Passw0rd!"), io.StringIO()
    code = stack_secrets.run(
        "dev", set_name="axtSecretPassword", store_factory=lambda stack: store, prompt=prompt, out=out
    )
    assert code == stack_secrets.EXIT_OK
    assert store.calls == [("secrets.axtSecretPassword", "Windows-Passw0rd!")]
    assert len(prompt.prompts) == 2 and all("not echoed" in p or "again" in p for p in prompt.prompts)
    assert "Windows-Passw0rd!" not in out.getvalue()


def test_the_automation_api_call_is_a_secret_path_config_value(monkeypatch):
    """What AutomationStore hands the Automation API (checked without the CLI)."""
    from pulumi import automation as auto

    calls = []

    class Stack:
        def set_config(self, key, value, *, path=False):
            calls.append((key, value, path))

    store = stack_secrets.AutomationStore.__new__(stack_secrets.AutomationStore)
    store._auto, store._stack = auto, Stack()
    store.set_secret("secrets.axtSecretPassword", "x")
    ((key, value, path),) = calls
    assert key == "secrets.axtSecretPassword" and path is True
    assert isinstance(value, auto.ConfigValue) and value.secret is True and value.value == "x"


def test_set_reads_stdin_for_automation():
    store = FakeStore()
    code = stack_secrets.run(
        "dev",
        set_name="axtSecretPassword",
        from_stdin=True,
        stdin=io.StringIO("from-a-pipe\n"),
        store_factory=lambda stack: store,
        out=io.StringIO(),
    )
    assert code == 0 and store.calls == [("secrets.axtSecretPassword", "from-a-pipe")]


@pytest.mark.parametrize(
    "entries, problem",
    [(("a", "b"), "differ"), (("", ""), "0 characters"), (("x" * 4097,) * 2, "4097 characters")],
)
def test_bad_entries_are_refused_before_anything_is_stored(entries, problem):
    store = FakeStore()
    with pytest.raises(ConfigError, match=problem) as raised:
        stack_secrets.run(
            "dev", set_name="axtSecretPassword", store_factory=lambda s: store, prompt=answers(*entries)
        )
    assert store.calls == []
    assert "x" * 20 not in str(raised.value)


def test_an_unknown_secret_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="use one of: axtSecretPassword"):
        stack_secrets.run("dev", set_name="commandUserPassword", store_factory=lambda s: FakeStore())


def test_a_cli_failure_is_one_line(capsys):
    store = FakeStore(fail="incorrect passphrase")
    code = stack_secrets.run(
        "dev",
        set_name="axtSecretPassword",
        store_factory=lambda s: store,
        prompt=answers("pw-12345", "pw-12345"),
    )
    assert code == stack_secrets.EXIT_FAILED
    (line,) = capsys.readouterr().err.splitlines()
    assert "incorrect passphrase" in line and "Fix:" in line


def test_without_the_pulumi_cli_set_is_one_line_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` anywhere
    monkeypatch.setattr(sys, "stdin", io.StringIO("Windows-Passw0rd!\n"))
    code = main(["secrets", "--stack", "dev", "--set", "axtSecretPassword", "--stdin"])
    assert code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "Pulumi CLI is not installed" in line and "Fix: install it" in line


@pytest.mark.skipif(shutil.which("pulumi") is None, reason="integration: needs the Pulumi CLI on PATH")
def test_set_through_the_real_cli_writes_ciphertext_the_passphrase_opens(tmp_path, monkeypatch):
    work = tmp_path / "project"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__"))
    (work / ".venv").symlink_to(ROOT / ".venv")
    env = {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "integration test",
    }
    (tmp_path / "state").mkdir()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    subprocess.run(
        ["pulumi", "stack", "select", "dev", "--create", "--secrets-provider", "passphrase"],
        cwd=work,
        check=True,
    )
    store = stack_secrets.AutomationStore("dev", work)
    store.set_secret("secrets.axtSecretPassword", "Windows-Passw0rd!")
    document = yaml.safe_load((work / "stacks" / "Pulumi.dev.yaml").read_text())
    key = key_for(os.environ["PULUMI_CONFIG_PASSPHRASE"], document["encryptionsalt"])
    ciphertext = document["config"]["ecs-access-baseline:secrets"]["axtSecretPassword"]["secure"]
    assert decrypt(key, ciphertext) == "Windows-Passw0rd!"


def test_without_the_pulumi_cli_set_refuses_before_asking_for_the_value(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` anywhere
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "Windows-Passw0rd!"

    with pytest.raises(ConfigError, match="Pulumi CLI is not installed"):
        stack_secrets.run("dev", set_name="axtSecretPassword", prompt=prompt)
    assert asked == [], "the value was asked for although it could not be stored"


def test_a_stack_the_backend_lacks_is_reported_before_asking_for_the_value(capsys):
    def no_stack(stack: str):
        raise stack_secrets.StoreFailed(f"the backend has no stack {stack!r}")

    code = stack_secrets.run("dev", set_name="axtSecretPassword", store_factory=no_stack, prompt=answers())
    assert code == stack_secrets.EXIT_FAILED
    (line,) = capsys.readouterr().err.splitlines()
    assert "the backend has no stack 'dev'" in line
