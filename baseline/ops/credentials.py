"""Alibaba Cloud sign-in for the operator commands (``sweep``, ``adopt --lookup``): one loader.

The way the Pulumi provider signs in: the environment's keys (``ALICLOUD_ACCESS_KEY`` /
``ALICLOUD_SECRET_KEY``, and ``ALICLOUD_SECURITY_TOKEN`` for STS, what CI's OIDC action exports),
else the ``aliyun configure`` profile named by ``ALICLOUD_PROFILE`` (people). The SDK's wider
default chain is never used: on a laptop it ends by probing the ECS metadata service
(100.100.100.200) and reports that as a network fault. Whatever is missing is one line naming
the setting (``baseline.errors.Fault``, exit 2), before any request is sent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from baseline.errors import Fault
from baseline.ops.faults import EXIT_SETUP

ACCESS_KEY = "ALICLOUD_ACCESS_KEY"
SECRET_KEY = "ALICLOUD_SECRET_KEY"
SECURITY_TOKEN = "ALICLOUD_SECURITY_TOKEN"
PROFILE = "ALICLOUD_PROFILE"


def alicloud_credential(command: str, account: str = "the stack's account") -> Any:
    """An ``alibabacloud_credentials`` client for ``openapi.Config(credential=...)``.

    ``command`` names the command in the messages (``sweep``, ``adopt --lookup``); ``account`` says
    which account the profile should sign in to.
    """
    from alibabacloud_credentials.client import Client as Credentials

    key, secret = os.environ.get(ACCESS_KEY), os.environ.get(SECRET_KEY)
    profile = os.environ.get(PROFILE)
    if key and secret:
        token = os.environ.get(SECURITY_TOKEN)
        if token:
            from alibabacloud_credentials.provider.static_sts import StaticSTSCredentialsProvider

            return Credentials(
                provider=StaticSTSCredentialsProvider(
                    access_key_id=key, access_key_secret=secret, security_token=token
                )
            )
        from alibabacloud_credentials.provider.static_ak import StaticAKCredentialsProvider

        return Credentials(provider=StaticAKCredentialsProvider(access_key_id=key, access_key_secret=secret))
    if bool(key) != bool(secret) and not profile:
        have, lack = (ACCESS_KEY, SECRET_KEY) if key else (SECRET_KEY, ACCESS_KEY)
        raise Fault(
            what=f"{command}: no Alibaba Cloud credentials: the environment variable {have} is set but "
            f"{lack} is not",
            fix=f"export {lack} too, or unset {have} and export {PROFILE}=<your `aliyun configure` profile>",
            code=EXIT_SETUP,
        )
    if profile:
        return _profile_credential(command, profile)
    raise Fault(
        what=f"{command}: no Alibaba Cloud credentials: the environment variables {ACCESS_KEY} and "
        f"{SECRET_KEY} are not set, and neither is {PROFILE}",
        fix=f"export {PROFILE}=<your `aliyun configure` profile for {account}>, or both keys "
        f"({SECURITY_TOKEN} too for STS; CI's OIDC action exports them)",
        code=EXIT_SETUP,
    )


def _profile_credential(command: str, profile: str) -> Any:
    from alibabacloud_credentials.client import Client as Credentials
    from alibabacloud_credentials.provider.cli_profile import CLIProfileCredentialsProvider

    # The file under the HOME of this process (the SDK fixes its own idea of HOME at import).
    path = Path.home() / ".aliyun" / "config.json"
    try:
        credential = Credentials(
            provider=CLIProfileCredentialsProvider(profile_name=profile, profile_file=str(path))
        )
        credential.get_credential()  # fails now, in one line, rather than half-way through the command
    except Exception as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise Fault(
            what=f"{command}: the Alibaba Cloud profile {profile!r} named by the environment variable "
            f"{PROFILE} gave no credentials ({reason})",
            fix=f"run `aliyun configure --profile {profile}` (or sign in again), or export another {PROFILE}",
            code=EXIT_SETUP,
        ) from None
    return credential
