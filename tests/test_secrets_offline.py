"""Secrets on a fresh clone: nothing fabricated is checked in, every stack still plans, and each
hint gives the command that really sets a secret (`-s STACK`, value prompted for)."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pulumi_random as random
import pytest
import yaml
from conftest import FIXTURES, ROOT, STACKS, plan_of, resources
from pulumi_crypt import IncorrectPassphrase, decrypt, encrypt, key_for, new_salt_state

from baseline import limits
from baseline.cli import main
from baseline.config import is_ciphertext, load_stack_file, resolve, set_command
from baseline.errors import ConfigError, PlanError
from baseline.mocks import StrictMocks
from baseline.plan import execute

# From Pulumi's own tests (pkg/secrets/passphrase/manager_test.go): this salt state opens with the
# passphrase "password". It proves the re-implementation below decrypts as the CLI does.
PULUMI_TEST_SALT = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="


def tracked_yaml() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.yaml", "*.yml"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]  # a stack deleted, not yet committed


def secure_values(document: object) -> list[object]:
    if isinstance(document, dict):
        if set(document) == {"secure"}:
            return [document["secure"]]
        return [v for item in document.values() for v in secure_values(item)]
    if isinstance(document, list):
        return [v for item in document for v in secure_values(item)]
    return []


@cache
def _key(passphrase: str, salt: str) -> bytes:
    return key_for(passphrase, salt)


def test_the_decrypter_opens_pulumis_own_test_salt_and_refuses_a_wrong_passphrase():
    assert _key("password", PULUMI_TEST_SALT)
    with pytest.raises(IncorrectPassphrase):
        key_for("password123", PULUMI_TEST_SALT)


def test_every_checked_in_secure_value_decrypts_the_way_the_cli_does():
    """Today there are none (stacks ship without salt or ciphertext); a team that commits its own
    must give the test their passphrase, and then every value must open with it."""
    found = []
    for path in tracked_yaml():
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            continue  # the bad-stack battery holds deliberately broken YAML
        if not isinstance(document, dict):
            continue
        values = secure_values(document.get("config") or {})
        if "bad_stacks" in path.parts:
            # The battery may hold values that are refused for their form; none may look genuine.
            assert not any(is_ciphertext(v) for v in values), path
            continue
        if values or document.get("encryptionsalt"):
            found.append((path, document.get("encryptionsalt"), values))
    if not found:
        return  # nothing to decrypt: the shipped state
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    if passphrase is None:
        pytest.fail(f"{found[0][0].name} holds secrets; set PULUMI_CONFIG_PASSPHRASE to check them")
    for path, salt, values in found:
        assert salt, f"{path.name}: secure values without an encryptionsalt cannot be decrypted"
        key = _key(passphrase, salt)
        for value in values:
            decrypt(key, value)  # raises on anything the CLI could not open


def test_the_shipped_stacks_hold_no_salt_and_no_secure_value():
    for stack in STACKS:
        document = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())
        assert "encryptionsalt" not in document and "encryptedkey" not in document
        assert secure_values(document) == []
        assert "ecs-access-baseline:secrets" not in document["config"]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("Pulumi.*.yaml")), ids=lambda p: p.stem)
def test_every_checked_in_stack_file_plans_with_no_secret_set(path):
    """dev, staging, prod, the starter and the pipeline stack: none needs a secret to plan."""
    from baseline.plan import render

    stack = path.stem.removeprefix("Pulumi.")
    assert secure_values(yaml.safe_load(path.read_text())) == []
    plan = render(resolve(load_stack_file(path)), stack)
    assert plan["resources"]


def test_every_stack_plans_with_no_secret_set(stack):
    plan = plan_of(stack)
    logins = resources(plan, "alicloud:ram/loginProfile:LoginProfile")
    assert logins and all(r["inputs"]["password"] == "[secret]" for r in logins)
    for parameter in resources(plan, "alicloud:oos/secretParameter:SecretParameter"):
        assert parameter["inputs"]["value"] == "[secret]"


def test_an_unset_secret_is_one_note_on_stderr_naming_it(capsys):
    # One stack in-process (the CLI's own subprocess run is in test_stacks.py); all stacks share it.
    assert main(["plan", "--stack", "staging", "--format", "json"]) == 0
    (note,) = capsys.readouterr().err.splitlines()
    assert "axtSecretPassword" in note and "[secret]" in note
    assert note.endswith(set_command("axtSecretPassword", "staging"))


def test_a_file_with_real_ciphertext_is_read_without_decrypting(tmp_path):
    salt, key = new_salt_state("correct horse battery staple")
    path = tmp_path / "Pulumi.mine.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "encryptionsalt": salt,
                "config": {
                    "ecs-access-baseline:environment": "dev",
                    "ecs-access-baseline:alicloud": {
                        "accountId": "5012345678901234",
                        "region": "cn-hangzhou",
                    },
                    "ecs-access-baseline:cloudAssistantWindows": {
                        "enabled": True,
                        "windowsInstances": [{"id": "i-bp1win00000000001"}],
                    },
                    "ecs-access-baseline:secrets": {
                        "axtSecretPassword": {"secure": encrypt(key, "Windows-Passw0rd!")}
                    },
                },
            }
        )
    )
    resolved = resolve(load_stack_file(path))
    assert resolved.stack == "mine"
    assert resolved.unset_secrets == ()


def _stack_with(tmp_path, value: str, **header: str):
    path = tmp_path / "Pulumi.dev.yaml"
    document = {
        **header,
        "config": {
            "ecs-access-baseline:environment": "dev",
            "ecs-access-baseline:secrets": {"x": {"secure": value}},
        },
    }
    path.write_text(yaml.safe_dump(document))
    return path


@cache
def _salt() -> str:
    return new_salt_state("a test passphrase")[0]


# A file with a salt (passphrase) or an encrypted data key (cloud KMS): Pulumi's v1 form only.
V1_REFUSED = [
    "Typed-By-Hand-1",  # plain text under secure:
    "v1:AAAAAAAAAAAAAAAA:Q2lwaGVydGV4dA==",  # too short to carry the 16-byte GCM tag
    "v1:short:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # a nonce that is not 12 bytes
    "AAABAGx0aGlzIGlzIG5vdCB2MQ==",  # Pulumi Cloud's base64 form in a passphrase/KMS file
]
# A file with neither: Pulumi Cloud's default ("service") provider, plain base64 ciphertext only.
SERVICE_REFUSED = [
    "not-real",
    "123",
    "Typed-By-Hand-1",
    "password",  # base64 by accident, 6 bytes: shorter than any ciphertext
    "AAABAGx0aGlzIGlzIG5vdCB2MQ",  # unpadded: not standard base64 as the provider writes it
]


@pytest.mark.parametrize("header", ["encryptionsalt", "encryptedkey"])
@pytest.mark.parametrize("value", V1_REFUSED)
def test_a_secure_value_not_in_the_v1_form_is_refused_in_a_passphrase_or_kms_file(tmp_path, value, header):
    extra = (
        {"encryptionsalt": _salt()}
        if header == "encryptionsalt"
        else {
            "secretsprovider": "awskms://alias/baseline-dev?region=us-east-1",
            "encryptedkey": base64.b64encode(b"a data key as the KMS returned it").decode(),
        }
    )
    with pytest.raises(ConfigError) as raised:
        load_stack_file(_stack_with(tmp_path, value, **extra))
    message = str(raised.value)
    assert "not Pulumi ciphertext" in message and value not in message
    assert "Fix: delete the entry and run: pulumi config set --secret --path 'secrets.x' -s dev " in message


@pytest.mark.parametrize("value", SERVICE_REFUSED)
def test_a_secure_value_not_in_the_service_form_is_refused_in_a_pulumi_cloud_file(tmp_path, value):
    with pytest.raises(ConfigError) as raised:
        load_stack_file(_stack_with(tmp_path, value))
    message = str(raised.value)
    assert "not Pulumi ciphertext" in message and "Pulumi Cloud's default" in message
    assert value not in message.split("Fix:")[0].replace("secrets.x", "")
    assert "Fix: delete the entry and run: pulumi config set --secret --path 'secrets.x' -s dev " in message


def test_a_v1_value_in_a_file_without_salt_or_key_is_refused_naming_the_missing_line(tmp_path):
    key = key_for("a test passphrase", _salt())
    with pytest.raises(ConfigError) as raised:
        load_stack_file(_stack_with(tmp_path, encrypt(key, "P@ss-1")))
    message = str(raised.value)
    assert "neither encryptionsalt nor encryptedkey" in message
    assert "restore the stack file's encryptionsalt or encryptedkey line" in message


def test_pulumi_clouds_default_provider_ciphertext_is_accepted(tmp_path):
    """pulumi/pulumi pkg/secrets/service: base64.StdEncoding of the service's ciphertext, and the
    stack file records neither encryptionsalt nor encryptedkey."""
    value = base64.b64encode(os.urandom(64)).decode()
    raw = load_stack_file(_stack_with(tmp_path, value))
    assert set(raw.secrets) == {"x"}


def test_v1_ciphertext_is_accepted_with_a_salt_or_an_encrypted_key(tmp_path):
    key = key_for("a test passphrase", _salt())
    value = encrypt(key, "P@ss-1")
    assert set(load_stack_file(_stack_with(tmp_path, value, encryptionsalt=_salt())).secrets) == {"x"}
    kms = {
        "secretsprovider": "awskms://alias/x?region=us-east-1",
        "encryptedkey": base64.b64encode(b"k" * 40).decode(),
    }
    assert set(load_stack_file(_stack_with(tmp_path, value, **kms)).secrets) == {"x"}


HINT = re.compile(r"pulumi config set --secret --path '?secrets\.[^' ]+'? *(?P<rest>[^`\n\"]*)")


def test_every_secret_hint_names_the_stack_and_lets_the_cli_prompt():
    """No hint puts a value on the command line (shell history); each names the stack with -s."""
    files = [*ROOT.glob("baseline/**/*.py"), *ROOT.glob("components/*.py"), ROOT / "README.md"]
    files += [*ROOT.glob("docs/*.md"), ROOT / "__main__.py", *ROOT.glob("policy/**/*.py")]
    files += [*ROOT.glob(".github/workflows/*.yml"), *FIXTURES.glob("*.yaml")]
    hints = 0
    for path in files:
        for match in HINT.finditer(path.read_text()):
            hints += 1
            rest = match["rest"].strip()
            assert rest.startswith("-s "), f"{path.name}: {match[0]!r}"
            assert "<value>" not in rest and "<password>" not in rest, f"{path.name}: {match[0]!r}"
    assert hints >= 5


# --- generated console passwords under the strict mocks -----------------------------------------


def test_generated_passwords_meet_the_strictest_ram_password_policy(stack):
    plan = plan_of(stack)
    generated = resources(plan, "random:index/randomPassword:RandomPassword")
    logins = resources(plan, "alicloud:ram/loginProfile:LoginProfile")
    assert len(generated) == len(logins), "every console user of the shipped stacks gets a generated password"
    for password in generated:
        inputs = password["inputs"]
        assert inputs["length"] == limits.RAM_PASSWORD_MAX == 32
        assert all(inputs[k] >= 1 for k in ("minLower", "minUpper", "minNumeric", "minSpecial"))
        assert set(inputs["overrideSpecial"]) <= set(limits.RAM_PASSWORD_SYMBOLS)
    for login in logins:
        assert login["inputs"]["passwordResetRequired"] is True


def test_generated_passwords_are_only_secret_outputs(stack):
    outputs = plan_of(stack)["outputs"]
    passwords = {
        user: value
        for scenario in outputs.values()
        if isinstance(scenario, dict)
        for user, value in (scenario.get("initialPasswords") or {}).items()
    }
    assert passwords and set(passwords.values()) == {"[secret]"}
    text = json.dumps(plan_of(stack))
    assert "Aa" + "0" not in text  # nothing of the mock's stand-in value leaks


def test_every_access_key_is_handed_out_as_a_secret_stack_output(stack):
    # A component's outputs cannot be read with `pulumi stack output`: without a stack-level
    # output an AccessKey would be created and its secret unreachable.
    plan = plan_of(stack)
    users_with_keys = {
        key["inputs"]["userName"] for key in resources(plan, "alicloud:ram/accessKey:AccessKey")
    }
    handed_out = {
        user: entry
        for scenario in plan["outputs"].values()
        if isinstance(scenario, dict)
        for user, entry in (scenario.get("accessKeys") or {}).items()
    }
    assert users_with_keys and set(handed_out) == users_with_keys
    for entry in handed_out.values():
        assert entry["accessKeySecret"] == "[secret]"
        assert entry["accessKeyId"]


def _register(**overrides):
    args = (
        dict(length=32, min_lower=1, min_upper=1, min_numeric=1, min_special=1, override_special="!@#-")
        | overrides
    )

    def program():
        random.RandomPassword("p", **args)
        return {}

    execute(program, "test", StrictMocks())


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"length": 16}, "may demand up to 32"),
        ({"length": 40}, "8-32 characters"),
        ({"min_special": 0}, "special"),
        ({"upper": False}, "upper"),
        ({"override_special": "'\" \\\\"}, "overrideSpecial"),
    ],
)
def test_the_mocks_refuse_passwords_ram_could_refuse(overrides, reason):
    with pytest.raises(PlanError, match=re.escape(reason)):
        _register(**overrides)


def test_the_mocks_accept_a_password_meeting_every_class():
    _register()


def test_a_named_password_secret_is_used_instead_of_a_generated_one():
    from baseline.config import RawConfig, SecretValue
    from baseline.plan import render

    config = {
        "environment": "dev",
        "alicloud": {"accountId": "5012345678901234", "region": "cn-hangzhou", "strictScoping": False},
        "cloudAssistantLinux": {
            "enabled": True,
            "user": {"name": "commandUser", "console": {"passwordSecret": "commandUserPassword"}},
        },
    }
    chosen = {"commandUserPassword": SecretValue("Chosen-Passw0rd!")}
    resolved = resolve(RawConfig(values=config, secrets=chosen))
    plan = render(resolved, "test")
    assert not resources(plan, "random:index/randomPassword:RandomPassword")
    assert "initialPasswords" not in plan["outputs"]["cloudAssistantLinux"]
