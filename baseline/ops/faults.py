"""Ordinary faults of operator commands, turned into one line each (``baseline.errors.Fault``).

Every operator command (``sweep``, ``teardown``, ``diff``, ``adopt``, ``secrets``) meets the
same few faults: no CLI, no region or credentials, an unreachable endpoint, throttling, access
denied. ``classify`` names what failed and where the setting comes from; ``reported`` wraps a
block so such an exception leaves it as a ``Fault`` (the CLI prints it, exit non-zero, no
traceback). Transient errors are retried by the SDKs themselves (``aws_config``,
``alicloud_retry_options``) before they get here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from baseline.errors import PULUMI_INSTALL_URL, Fault

EXIT_FAILED = 1  # the operation failed; rerun when the cause is fixed
EXIT_SETUP = 2  # the command cannot start: a missing CLI, region or credentials

# How many times a call is tried in all (first try included) and the longest backoff.
ATTEMPTS = 5
ALICLOUD_BACKOFF_MS = 500
ALICLOUD_BACKOFF_CAP_MS = 10_000

AWS_CREDENTIALS = (
    "boto3's chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, "
    "or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (OIDC)"
)
AWS_REGION = "AWS_DEFAULT_REGION, or `region` of the AWS_PROFILE in ~/.aws/config"
AWS_ENDPOINT = (
    "AWS_ENDPOINT_URL_IAM or AWS_ENDPOINT_URL when set, else the public IAM endpoint; proxy: HTTPS_PROXY"
)
ALICLOUD_CREDENTIALS = (
    "environment variables ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY (and ALICLOUD_SECURITY_TOKEN)"
)
ALICLOUD_ENDPOINT = "the RAM endpoint ram.aliyuncs.com; proxy: HTTPS_PROXY"
PULUMI_SETTINGS = (
    "backend: PULUMI_BACKEND_URL or `pulumi login`; secrets: PULUMI_CONFIG_PASSPHRASE(_FILE) or the "
    "stack's secrets provider; cloud credentials as for `pulumi destroy`"
)
PULUMI_INSTALL = f"install it ({PULUMI_INSTALL_URL}) and put it on PATH"

_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "Throttling.User",
    "Throttling.Api",
    "Throttling.Tenant",
    "ServiceUnavailable",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NoPermission", "Forbidden.RAM"}
_BAD_CREDENTIALS = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "InvalidSecurityToken.Expired",
    "InvalidSecurityToken.Malformed",
}
# Entity already gone: a delete that repeats a step an interrupted run already did.
GONE = {"NoSuchEntity", "EntityNotExist.User", "EntityNotExist.Role", "EntityNotExist.Policy"}


def aws_config() -> Any:
    """botocore's own retries: standard mode retries throttling, 5xx and connection errors."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": ATTEMPTS})


def alicloud_retry_options() -> Any:
    """The Alibaba Cloud SDK's retry policy: network errors, throttling and 5xx, with backoff."""
    from darabonba.policy.retry import RetryOptions

    return RetryOptions(
        {
            "retryable": True,
            "retryCondition": [
                {
                    "maxAttempts": ATTEMPTS - 1,  # retries after the first try
                    "exception": ["RetryError", "ThrottlingException", "ServerException"],
                    "errorCode": sorted(_THROTTLING | {"InternalError", "ServiceUnavailableTemporary"}),
                    "backoff": {
                        "policy": "ExponentialWithEqualJitter",
                        "period": ALICLOUD_BACKOFF_MS,
                        "cap": ALICLOUD_BACKOFF_CAP_MS,
                    },
                }
            ],
        }
    )


def error_code(error: BaseException) -> str:
    """The cloud's error code of an SDK exception ("" when it has none)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return str(getattr(error, "code", "") or "")


def is_gone(error: BaseException) -> bool:
    code = error_code(error)
    return code in GONE or code.startswith("EntityNotExist")


def _first_line(error: BaseException) -> str:
    inner = getattr(error, "inner_exception", None) or error
    text = str(getattr(inner, "message", None) or inner)
    return next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)


def _aws(error: BaseException, doing: str) -> Fault | None:
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover - botocore is a pinned requirement
        return None
    if isinstance(error, bx.NoRegionError):
        return Fault(
            what="no AWS region is configured",
            where=AWS_REGION,
            fix="export AWS_DEFAULT_REGION=us-east-1 (IAM is global: any region of the account's partition)",
            code=EXIT_SETUP,
        )
    credential_errors = tuple(
        getattr(bx, name)
        for name in (
            "NoCredentialsError",
            "PartialCredentialsError",
            "CredentialRetrievalError",
            "TokenRetrievalError",
            "SSOTokenLoadError",
            "UnauthorizedSSOTokenError",
        )
        if hasattr(bx, name)
    )
    if isinstance(error, credential_errors):
        return Fault(
            what=f"no usable AWS credentials ({_first_line(error)})",
            where=AWS_CREDENTIALS,
            fix="provide the test account's credentials (CI: configure-aws-credentials with OIDC)",
            code=EXIT_SETUP,
        )
    network = (
        bx.EndpointConnectionError,
        bx.ConnectTimeoutError,
        bx.ReadTimeoutError,
        bx.ConnectionClosedError,
    )
    if isinstance(error, network):
        return Fault(
            what=f"could not reach AWS while {doing}: {_first_line(error)}",
            where=AWS_ENDPOINT,
            fix=f"check the network, proxy and endpoint, then run again (tried {ATTEMPTS} times)",
        )
    if isinstance(error, bx.ClientError):
        return _by_code(error, "AWS", doing, AWS_CREDENTIALS)
    return None


def _alicloud(error: BaseException, doing: str) -> Fault | None:
    name = getattr(error, "name", "")
    if name in ("UnretryableException", "RetryError") or type(error).__name__ in (
        "UnretryableException",
        "RetryError",
    ):
        return Fault(
            what=f"could not reach Alibaba Cloud while {doing}: {_first_line(error)}",
            where=ALICLOUD_ENDPOINT,
            fix=f"check the network and proxy, then run again (tried {ATTEMPTS} times)",
        )
    if name in ("ClientException", "ServerException", "ThrottlingException", "AlibabaCloudException"):
        return _by_code(error, "Alibaba Cloud", doing, ALICLOUD_CREDENTIALS)
    return None


def _by_code(error: BaseException, cloud: str, doing: str, credentials: str) -> Fault | None:
    code = error_code(error)
    message = _first_line(error)
    if code in _THROTTLING or code.startswith("Throttling"):
        return Fault(
            what=f"{cloud} throttled the requests while {doing} ({code}), also after {ATTEMPTS} tries "
            "with backoff",
            fix="wait a few minutes and run again; finished work is not repeated",
        )
    if code in _BAD_CREDENTIALS or code.startswith(("InvalidAccessKeyId", "InvalidSecurityToken")):
        return Fault(
            what=f"{cloud} refused the credentials while {doing} ({code})",
            where=credentials,
            fix="renew or correct the credentials, then run again",
            code=EXIT_SETUP,
        )
    if code in _DENIED or code.startswith(("Forbidden", "NoPermission")) or "AccessDenied" in code:
        return Fault(
            what=f"{cloud} denied access while {doing} ({code}: {message})",
            where=credentials,
            fix="use an identity allowed to do this in the test account (the pipeline's deploy role)",
        )
    return None


def classify(error: BaseException, doing: str) -> Fault | None:
    """The one-line fault for an ordinary failure, or None for anything else (a bug)."""
    if isinstance(error, Fault):
        return error
    if isinstance(error, FileNotFoundError) and "pulumi" in str(error.filename or error).lower():
        return Fault(
            what=f"the Pulumi CLI is not installed or not on PATH (needed for {doing})",
            where="looked up on PATH",
            fix=PULUMI_INSTALL,
            code=EXIT_SETUP,
        )
    if type(error).__name__ == "CommandError" and type(error).__module__.startswith("pulumi.automation"):
        lines = [line.strip().removeprefix("stderr:").strip() for line in str(error).splitlines()]
        first = next((line for line in lines if line.startswith("error:")), None) or next(
            (line for line in lines if line and not line.startswith(("code:", "stdout:", "stderr:"))),
            "the CLI exited with an error",
        )
        return Fault(
            what=f"the Pulumi CLI failed while {doing}: {first.removeprefix('error: ')}",
            where=PULUMI_SETTINGS,
            fix="correct the cause shown and run the command again; nothing more was changed",
        )
    return _aws(error, doing) or _alicloud(error, doing)


@contextmanager
def reported(doing: str) -> Iterator[None]:
    """Inside the block, an ordinary fault leaves as a one-line ``Fault``; a bug stays a bug."""
    try:
        yield
    except Exception as error:
        fault = classify(error, doing)
        if fault is None or fault is error:
            raise
        raise fault from None
