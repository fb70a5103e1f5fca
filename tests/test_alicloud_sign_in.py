"""`adopt --lookup` and `sweep` sign in to Alibaba Cloud the same way, or say in one line why not.

A person without credentials, or with an ALICLOUD_PROFILE their `aliyun configure` file lacks,
gets one line naming the setting: never the SDK's default chain, whose last step probes the ECS
metadata service and was reported as a network fault with three tracebacks.
"""

from __future__ import annotations

import json

import pytest

from baseline import adopt, cli
from baseline.ops import credentials, sweep

CREDENTIAL_VARIABLES = (
    "ALICLOUD_ACCESS_KEY",
    "ALICLOUD_SECRET_KEY",
    "ALICLOUD_SECURITY_TOKEN",
    "ALICLOUD_PROFILE",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_PROFILE",
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh HOME and no Alibaba Cloud variables; the ECS metadata service must never be asked."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    from alibabacloud_credentials.provider import ecs_ram_role

    def probe(*args, **kwargs):
        raise AssertionError("the ECS metadata service was probed")

    monkeypatch.setattr(ecs_ram_role.EcsRamRoleCredentialsProvider, "__init__", probe)
    return tmp_path


def aliyun_profile(home, name="first-stack"):
    """An `aliyun configure` file (AK mode: read locally, no network)."""
    profile = {"name": name, "mode": "AK", "access_key_id": "LTAIexamplekey", "access_key_secret": "s3cret"}
    (home / ".aliyun").mkdir()
    (home / ".aliyun" / "config.json").write_text(json.dumps({"current": name, "profiles": [profile]}))


def adopt_lookup(capsys) -> tuple[int, str]:
    code = cli.main(["adopt", "--stack", "dev", "--lookup"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    return code, line


def test_adopt_lookup_without_credentials_is_one_line_naming_the_settings(home, capsys):
    code, line = adopt_lookup(capsys)
    assert code == 2
    assert line.startswith("error: adopt --lookup: no Alibaba Cloud credentials")
    assert "ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY are not set, and neither is ALICLOUD_PROFILE" in line
    assert "network" not in line and "Fix: export ALICLOUD_PROFILE=" in line


def test_adopt_lookup_with_an_unknown_profile_names_the_profile(home, monkeypatch, capsys):
    aliyun_profile(home)
    monkeypatch.setenv("ALICLOUD_PROFILE", "frist-stack")
    code, line = adopt_lookup(capsys)
    assert code == 2
    assert (
        "the Alibaba Cloud profile 'frist-stack' named by the environment variable ALICLOUD_PROFILE" in line
    )
    assert "aliyun configure --profile frist-stack" in line


def test_half_a_key_pair_names_the_missing_half(home, monkeypatch, capsys):
    monkeypatch.setenv("ALICLOUD_ACCESS_KEY", "LTAIexamplekey")
    code, line = adopt_lookup(capsys)
    assert code == 2 and "ALICLOUD_ACCESS_KEY is set but ALICLOUD_SECRET_KEY is not" in line


def test_adopt_and_sweep_sign_in_through_the_same_profile(home, monkeypatch):
    aliyun_profile(home)
    monkeypatch.setenv("ALICLOUD_PROFILE", "first-stack")
    reader = adopt.AlibabaCloudReader()
    client = sweep.alicloud_client()
    for signed_in in (reader._ram, reader._groups, client):
        assert signed_in._credential.get_credential().access_key_id == "LTAIexamplekey"


def test_keys_in_the_environment_come_first_and_carry_the_sts_token(home, monkeypatch):
    aliyun_profile(home)
    monkeypatch.setenv("ALICLOUD_PROFILE", "first-stack")
    monkeypatch.setenv("ALICLOUD_ACCESS_KEY", "STS.examplekey")
    monkeypatch.setenv("ALICLOUD_SECRET_KEY", "sts-secret")
    monkeypatch.setenv("ALICLOUD_SECURITY_TOKEN", "sts-token")
    credential = credentials.alicloud_credential("adopt --lookup").get_credential()
    assert (credential.access_key_id, credential.security_token) == ("STS.examplekey", "sts-token")


def test_there_is_one_loader():
    assert adopt.alicloud_credential is sweep.alicloud_credential is credentials.alicloud_credential
    assert not hasattr(sweep, "_profile_credential")
