"""One enumeration of environments, read the same way by configuration and the policy pack."""

from __future__ import annotations

import pytest
from test_policy_pack import check

from baseline import environments
from baseline.config import RawConfig, resolve
from baseline.errors import ConfigError
from policy.rules import common


def settings_for(environment: str):
    values = {"environment": environment}
    if environment == "prod":
        values["protectIdentities"] = True
    return resolve(RawConfig(values=values, secrets={})).settings


@pytest.mark.parametrize("environment", environments.ENVIRONMENTS)
def test_config_and_pack_agree_on_every_environment(environment):
    settings = settings_for(environment)
    user = {"name": "u", "tags": {"environment": environment}}
    pack_says_prod = bool(check(common.IDENTITIES_PROTECTED_IN_PROD, common.ALI_USER, user))
    assert settings.is_production == pack_says_prod == (environment == "prod")
    assert settings.is_strict == (environment in {"staging", "prod"})


@pytest.mark.parametrize("name", ["production", "Prod", "PROD", "prd", "live", "stage", ""])
def test_a_name_outside_the_enumeration_is_refused_by_config_and_prod_for_the_pack(name):
    with pytest.raises(ConfigError) as refused:
        settings_for(name)
    assert refused.value.key == "environment"
    # A resource tagged by hand with such a name gets the production rules: the pack fails closed.
    user = {"name": "u", "tags": {"environment": name}}
    assert check(common.IDENTITIES_PROTECTED_IN_PROD, common.ALI_USER, user)


def test_an_untagged_resource_is_not_production():
    assert not environments.is_production(None)
    assert not check(common.IDENTITIES_PROTECTED_IN_PROD, common.ALI_USER, {"name": "u"})


def test_the_pack_offers_no_setting_that_redefines_production():
    schema = common.ENVIRONMENT_SCHEMA.properties
    assert set(schema) == {"environment"}
    assert schema["environment"]["enum"] == ["", *environments.ENVIRONMENTS]


def test_the_pipeline_test_stacks_use_an_enumerated_environment():
    from baseline.ops import ephemeral

    assert ephemeral.ENVIRONMENT in environments.ENVIRONMENTS
    assert not environments.is_production(ephemeral.ENVIRONMENT)
