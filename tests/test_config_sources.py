"""A real `pulumi up` and the offline plan read the same settings from their two sources."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import ROOT
from pulumi.runtime import config as runtime_config

from baseline.config import from_pulumi_runtime, load_stack_file, resolve
from baseline.errors import ConfigError


def engine_config(stack: str, secret_value: str = "Decrypted-Pa55word!") -> tuple[dict[str, str], list[str]]:
    """What the engine hands the program: JSON text per key, secrets decrypted."""
    document = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    config, secret_keys = {}, []
    for key, value in document.items():
        if key.endswith(":secrets"):
            value = {name: secret_value for name in value}
            secret_keys.append(key)
        config[key] = value if isinstance(value, str) else json.dumps(value)
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
    from_file = resolve(load_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml"))
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
