"""A real `pulumi up` and the offline plan read the same settings from their two sources."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import FIXTURES, ROOT, example_resolved
from pulumi.runtime import config as runtime_config

from baseline.config import from_pulumi_runtime, load_stack_file, resolve
from baseline.errors import ConfigError

SECRETS = "ecs-access-baseline:secrets"


def engine_config(
    stack: str, secret_value: str | None = "Decrypted-Pa55word!"
) -> tuple[dict[str, str], list[str]]:
    """What the engine hands the program: JSON text per key, secrets decrypted.

    With ``secret_value`` every secret the stack references is set (as after `baseline secrets
    --set`); with None none is, as on a fresh clone.
    """
    path = FIXTURES / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())["config"]
    assert SECRETS not in document, "the checked-in stacks ship no secrets"
    config, secret_keys = {}, []
    for key, value in document.items():
        config[key] = value if isinstance(value, str) else json.dumps(value)
    if secret_value is not None:
        needed = resolve(load_stack_file(path)).unset_secrets
        config[SECRETS] = json.dumps({need.name: secret_value for need in needed})
        secret_keys.append(SECRETS)
    return config, secret_keys


@pytest.fixture
def restore_runtime_config():
    saved, saved_secrets = dict(runtime_config.CONFIG.get()), set(runtime_config._SECRET_KEYS.get())
    yield
    runtime_config.set_all_config(saved, list(saved_secrets))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_engine_config_resolves_to_the_same_settings_as_the_stack_file(stack, restore_runtime_config):
    config, secret_keys = engine_config(stack)
    runtime_config.set_all_config(config, secret_keys)
    from_engine = resolve(from_pulumi_runtime())
    from_file = example_resolved(stack)
    assert from_engine.settings == from_file.settings
    assert from_engine.alicloud == from_file.alicloud
    assert set(from_engine.secrets) == set(from_file.secrets)
    assert all(s.value == "Decrypted-Pa55word!" for s in from_engine.secrets.values())


def test_engine_config_with_plaintext_secrets_is_refused(restore_runtime_config):
    config, _ = engine_config("dev")
    runtime_config.set_all_config(config, [])  # the engine says: not a secret
    with pytest.raises(ConfigError, match="plain text"):
        from_pulumi_runtime()


def test_the_pulumi_entry_point_registers_the_same_resources_as_the_plan(restore_runtime_config):
    """`__main__.py` is what `pulumi up` runs: under the same mocks it registers the plan's resources."""
    import runpy

    from conftest import plan_of

    from baseline.mocks import StrictMocks
    from baseline.plan import execute

    config, secret_keys = engine_config("prod")
    runtime_config.set_all_config(config, secret_keys)
    monitor, _ = execute(
        lambda: runpy.run_path(str(ROOT / "__main__.py")) and {}, "prod", StrictMocks("5098765432109876")
    )
    registered = sorted((r["type"], r["name"]) for r in monitor.registrations)
    planned = sorted((r["type"], r["name"]) for r in plan_of("prod")["resources"])
    assert registered == planned


def test_the_pulumi_entry_point_reports_bad_config_as_one_line(restore_runtime_config):
    import runpy

    import pulumi

    config, secret_keys = engine_config("prod")
    config["ecs-access-baseline:protectIdentities"] = "false"
    runtime_config.set_all_config(config, secret_keys)
    with pytest.raises(
        pulumi.RunError, match=r"protectIdentities = False: .* Fix: set protectIdentities: true"
    ):
        runpy.run_path(str(ROOT / "__main__.py"))


def test_the_pulumi_entry_point_reports_every_bad_setting_one_line_each(restore_runtime_config):
    import runpy

    import pulumi

    config, secret_keys = engine_config("prod")
    config["ecs-access-baseline:protectIdentities"] = "false"
    config["ecs-access-baseline:testStack"] = "true"
    runtime_config.set_all_config(config, secret_keys)
    with pytest.raises(pulumi.RunError) as raised:
        runpy.run_path(str(ROOT / "__main__.py"))
    lines = str(raised.value).splitlines()
    assert len(lines) == 2 and all("Fix:" in line for line in lines), lines
    assert "testStack = True" in lines[0] and "protectIdentities = False" in lines[1]


def test_a_real_run_refuses_an_unset_secret_with_the_command_to_type(restore_runtime_config):
    """A fresh clone plans fine, but `pulumi up` stops before registering anything."""
    import runpy

    import pulumi

    config, secret_keys = engine_config("prod", secret_value=None)
    runtime_config.set_all_config(config, secret_keys)
    with pytest.raises(pulumi.RunError) as raised:
        runpy.run_path(str(ROOT / "__main__.py"))
    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert "secrets.axtSecretPassword" in message and "is not set" in message
    # The exact command, for the stack being run, with no value on the command line (it prompts).
    stack = pulumi.get_stack()
    assert message.endswith(
        f"Fix: run: pulumi config set --secret --path 'secrets.axtSecretPassword' -s {stack} "
        "(it prompts for the value)"
    )


def test_a_real_run_with_every_secret_set_starts(restore_runtime_config):
    from baseline.config import require_secrets

    config, secret_keys = engine_config("dev")
    runtime_config.set_all_config(config, secret_keys)
    resolved = resolve(from_pulumi_runtime("dev"))
    require_secrets(resolved)  # nothing left to set
    assert resolved.unset_secrets == ()
    assert set(resolved.secrets) == {"axtSecretPassword"}
