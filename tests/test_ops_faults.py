"""Operator commands meet ordinary faults with one line and a rerun that finishes the job.

AWS runs against a local moto server (127.0.0.1, an ephemeral port) behind a thin WSGI layer that
fails chosen IAM calls the way IAM does (throttling, access denied, a 500 after the work was
done), so botocore's own retries and the sweep's rerun are exercised over real HTTP, through
``python -m baseline sweep`` as a user runs it. Backoff sleeps are set to zero; the decision to
retry stays botocore's (and the Alibaba Cloud SDK's).
"""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from collections import defaultdict
from urllib.parse import parse_qs

import boto3
import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from botocore.retries import standard
from conftest import FIXTURES
from moto.server import DomainDispatcherApplication, ThreadedMotoServer, create_backend_app
from werkzeug.serving import make_server

from baseline import cli
from baseline.errors import Fault
from baseline.ops import faults, sweep

PREFIX = "pr31-"
TAGS = [{"Key": "managed-by", "Value": "pulumi"}]
ERRORS = {
    "throttle": (400, "Throttling", "Rate exceeded"),
    "deny": (403, "AccessDenied", "User is not authorized to perform this action"),
    "internal": (500, "InternalFailure", "We encountered an internal error"),
}


class FailingIam:
    """WSGI layer over moto: ``fail[Action]`` is a list of faults, one per call, consumed in order.

    ``"after:internal"`` lets moto do the work and then answers 500, as when a response is lost.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.fail: dict[str, list[str]] = defaultdict(list)
        self.calls: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = (parse_qs(body.decode()).get("Action") or [""])[0]
        with self.lock:
            self.calls[action] += 1
            fault = self.fail[action].pop(0) if self.fail.get(action) else None
        if fault is None:
            return self.app(environ, start_response)
        if fault.startswith("after:"):
            # Do the work, lose the answer.
            list(self.app(environ, lambda *a, **k: None))
            fault = fault.removeprefix("after:")
        status, code, message = ERRORS[fault]
        xml = (
            '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ).encode()
        start_response(f"{status} Error", [("Content-Type", "text/xml"), ("Content-Length", str(len(xml)))])
        return [xml]


class FailingMotoServer(ThreadedMotoServer):
    """moto's threaded server with the failing layer in front (same serving code otherwise)."""

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.iam = FailingIam(DomainDispatcherApplication(create_backend_app))

    def _server_entry(self) -> None:
        self._server = make_server(self._ip_address, self._port, self.iam, threaded=True)
        self._server_ready_event.set()
        self._server.serve_forever()


@pytest.fixture(scope="module")
def server():
    moto = FailingMotoServer()
    moto.start()
    host, port = moto.get_host_and_port()
    yield moto, f"http://{host}:{port}"
    moto.stop()


@pytest.fixture
def aws(server, monkeypatch, tmp_path):
    moto, url = server
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).read()
    moto.iam.fail.clear()
    moto.iam.calls.clear()
    client = boto3.client("iam")
    seed(client)
    yield moto.iam, client


def seed(client) -> None:
    """A user with a key and an attached policy, a role with an attached policy: 6 steps."""
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:List*","Resource":"*"}]}'
    arn = client.create_policy(PolicyName=f"{PREFIX}policy", PolicyDocument=document, Tags=TAGS)["Policy"][
        "Arn"
    ]
    client.create_user(UserName=f"{PREFIX}operator", Tags=TAGS)
    client.create_access_key(UserName=f"{PREFIX}operator")
    client.attach_user_policy(UserName=f"{PREFIX}operator", PolicyArn=arn)
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}'  # noqa: E501
    client.create_role(RoleName=f"{PREFIX}role", AssumeRolePolicyDocument=trust, Tags=TAGS)
    client.attach_role_policy(RoleName=f"{PREFIX}role", PolicyArn=arn)


def names(client) -> set[str]:
    return (
        {u["UserName"] for u in client.list_users()["Users"]}
        | {r["RoleName"] for r in client.list_roles()["Roles"]}
        | {p["PolicyName"] for p in client.list_policies(Scope="Local")["Policies"]}
    )


def sweep_cli(capsys, *extra: str) -> tuple[int, str, str]:
    code = cli.main(["sweep", "--cloud", "aws", "--prefix", PREFIX, "--older-than", "0s", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Fix:" in lines[0], err
    return lines[0]


def test_throttled_calls_are_retried_with_backoff_and_the_sweep_finishes(aws, capsys):
    iam, client = aws
    iam.fail["ListUsers"] = ["throttle"]
    iam.fail["DeleteUser"] = ["throttle", "throttle"]
    code, out, err = sweep_cli(capsys, "--delete")
    assert code == 0, err
    assert iam.calls["DeleteUser"] == 3 and iam.calls["ListUsers"] >= 2
    assert names(client) == set()
    assert out.rstrip().endswith("Deleted 3 identities in 6 steps.")


def test_a_sweep_stopped_half_way_by_access_denied_is_finished_by_running_it_again(aws, capsys):
    iam, client = aws
    iam.fail["DeleteRole"] = ["deny"] * 10
    code, out, err = sweep_cli(capsys, "--delete")
    assert code == 1
    line = one_line(err)
    assert "AWS denied access while step" in line and "delete role pr31-role" in line
    assert "AWS_ACCESS_KEY_ID" in line  # where the identity comes from
    assert "FAILED delete role pr31-role" in out
    # The user went before the role, and the policy (detached from both) after it: only the role stays.
    assert names(client) == {f"{PREFIX}role"}
    iam.fail.clear()
    code, out, err = sweep_cli(capsys, "--delete")
    assert code == 0 and err == ""
    assert names(client) == set()


def test_a_delete_whose_answer_was_lost_is_recognised_as_done(aws, capsys):
    iam, client = aws
    # IAM deleted the user but the answer was a 500: botocore retries, IAM says NoSuchEntity.
    iam.fail["DeleteUser"] = ["after:internal"]
    code, out, err = sweep_cli(capsys, "--delete")
    assert code == 0, err
    assert "gone delete user pr31-operator" in out
    assert names(client) == set()


def test_throttling_that_outlasts_the_retries_is_one_line(aws, capsys):
    iam, _ = aws
    iam.fail["ListUsers"] = ["throttle"] * 20
    code, _, err = sweep_cli(capsys)
    assert code == 1
    assert "AWS throttled the requests while listing aws identities (Throttling)" in one_line(err)
    assert iam.calls["ListUsers"] == faults.ATTEMPTS


def test_access_denied_while_listing_is_one_line(aws, capsys):
    iam, _ = aws
    iam.fail["ListUsers"] = ["deny"]
    code, _, err = sweep_cli(capsys)
    assert code == 1 and "AWS denied access while listing aws identities (AccessDenied" in one_line(err)


def test_an_unreachable_endpoint_is_one_line_naming_the_endpoint_setting(aws, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    code, _, err = sweep_cli(capsys)
    line = one_line(err)
    assert code == 1 and "could not reach AWS" in line and "AWS_ENDPOINT_URL" in line


def test_no_region_is_one_line_naming_where_the_region_comes_from(aws, monkeypatch, capsys):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    code, _, err = sweep_cli(capsys)
    line = one_line(err)
    assert code == 2 and "no AWS region is configured" in line and "AWS_DEFAULT_REGION" in line


def test_no_credentials_is_one_line_naming_the_chain(aws, monkeypatch, capsys):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the fixture's credentials
    code, _, err = sweep_cli(capsys)
    line = one_line(err)
    assert code == 2 and "no usable AWS credentials" in line and "AWS_PROFILE" in line


# --- Alibaba Cloud -----------------------------------------------------------------------------


def test_the_sweeper_names_alibaba_cloud_environment_variables_as_environment_variables(monkeypatch, capsys):
    monkeypatch.delenv("ALICLOUD_PROFILE", raising=False)
    monkeypatch.delenv("ALICLOUD_ACCESS_KEY", raising=False)
    monkeypatch.delenv("ALICLOUD_SECRET_KEY", raising=False)
    code = cli.main(["sweep", "--cloud", "alicloud", "--prefix", PREFIX])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert "environment variables ALICLOUD_ACCESS_KEY and ALICLOUD_SECRET_KEY" in line
    assert "ecs-access-baseline:" not in line  # not a config key


def _aliyun_profiles(home, monkeypatch):
    """A person's `aliyun configure` file (AK mode: read locally, no network) under a temp HOME."""
    (home / ".aliyun").mkdir()
    profile = {
        "name": "baseline-test",
        "mode": "AK",
        "access_key_id": "LTAIprofilekey",
        "access_key_secret": "profile-secret",
        "region_id": "cn-hangzhou",
    }
    config = {"current": "baseline-test", "profiles": [profile]}
    (home / ".aliyun" / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("HOME", str(home))
    for name in ("ALICLOUD_ACCESS_KEY", "ALICLOUD_SECRET_KEY", "ALICLOUD_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_a_person_sweeps_alibaba_cloud_through_their_aliyun_profile(tmp_path, monkeypatch):
    _aliyun_profiles(tmp_path, monkeypatch)
    monkeypatch.setenv("ALICLOUD_PROFILE", "baseline-test")
    client = sweep.alicloud_client()
    assert client._credential.get_credential().access_key_id == "LTAIprofilekey"


def test_an_alibaba_cloud_profile_that_does_not_exist_is_one_line(tmp_path, monkeypatch, capsys):
    _aliyun_profiles(tmp_path, monkeypatch)
    monkeypatch.setenv("ALICLOUD_PROFILE", "no-such-profile")
    code = cli.main(["sweep", "--cloud", "alicloud", "--prefix", PREFIX])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert "'no-such-profile'" in line and "environment variable ALICLOUD_PROFILE" in line
    assert "aliyun configure --profile no-such-profile" in line


def test_alibaba_cloud_without_network_is_retried_then_one_line(monkeypatch, capsys):
    monkeypatch.setenv("ALICLOUD_ACCESS_KEY", "x")
    monkeypatch.setenv("ALICLOUD_SECRET_KEY", "y")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # every connection is refused at once
    monkeypatch.setattr(faults, "ALICLOUD_BACKOFF_MS", 1)
    code = cli.main(["sweep", "--cloud", "alicloud", "--prefix", PREFIX])
    line = one_line(capsys.readouterr().err)
    assert code == 1 and "could not reach Alibaba Cloud" in line and "ram.aliyuncs.com" in line


def test_the_alibaba_cloud_client_retries_throttling_and_server_errors_itself():
    options = faults.alicloud_retry_options()
    [condition] = options.retry_condition
    assert {"Throttling.User", "ServiceUnavailable"} <= set(condition.error_code)
    assert {"RetryError", "ServerException"} <= set(condition.exception)
    assert condition.max_attempts == faults.ATTEMPTS - 1 and condition.backoff is not None


@pytest.mark.parametrize(
    ("code", "words", "exit_code"),
    [
        ("Throttling.User", "Alibaba Cloud throttled", 1),
        ("NoPermission", "Alibaba Cloud denied access", 1),
        ("InvalidAccessKeyId.NotFound", "refused the credentials", 2),
    ],
)
def test_alibaba_cloud_error_codes_become_one_line_faults(code, words, exit_code):
    error = ClientException(status_code=403, code=code, message="m", request_id="r", data={})
    fault = faults.classify(error, "listing alicloud identities")
    assert fault is not None and words in str(fault) and fault.code == exit_code
    assert "ALICLOUD_ACCESS_KEY" in str(fault) or code.startswith("Throttling")


def test_an_alibaba_cloud_step_that_fails_is_reported_in_one_line(monkeypatch, capsys):
    from test_sweep import LATER, FakeRam  # the RAM fake the sweep's own tests use

    ram = FakeRam()
    ram.user("pr12-commandUser")

    def refuse(request):
        raise ClientException(status_code=403, code="NoPermission", message="no", request_id="r", data={})

    monkeypatch.setattr(ram, "delete_user", refuse)
    code = sweep.run("alicloud", "pr12-", delete=True, client=ram, groups=ram, now=LATER, out=io.StringIO())
    line = one_line(capsys.readouterr().err)
    assert (
        code == 1 and "Alibaba Cloud denied access while step 1 of 1 (delete user pr12-commandUser)" in line
    )
    assert "pr12-commandUser" in ram.names()


# --- teardown -----------------------------------------------------------------------------------


def test_teardown_without_the_pulumi_cli_is_one_line(tmp_path, monkeypatch, capsys):
    from baseline.ops import ephemeral

    path = ephemeral.write(7, stacks_dir=tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi anywhere on it
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")
    code = cli.main(["teardown", "--stack", "test-pr-7", "--yes", "--config-file", str(path)])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "the Pulumi CLI is not installed or not on PATH" in line


def test_a_pulumi_cli_error_while_opening_the_stack_is_one_line(tmp_path, capsys):
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import CommandError

    from baseline.ops import ephemeral, teardown

    path = ephemeral.write(7, stacks_dir=tmp_path)
    message = "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"

    def not_logged_in(stack, config_file):
        raise CommandError(CommandResult("", message, 255))

    with pytest.raises(Fault) as raised:
        teardown.run("test-pr-7", yes=True, config_file=str(path), workspace_factory=not_logged_in)
    text = str(raised.value)
    assert "the Pulumi CLI failed while opening stack test-pr-7: PULUMI_ACCESS_TOKEN must be set" in text
    assert "PULUMI_BACKEND_URL" in text and "\n" not in text


# --- adopt --lookup and secrets ------------------------------------------------------------------


def test_adopt_lookup_denied_by_iam_is_one_line_naming_the_credentials(aws, monkeypatch, capsys, tmp_path):
    from test_adopt import FakeRam

    from baseline import adopt

    iam, _ = aws
    iam.fail["GetRole"] = ["deny"]
    # The real IAM reader (boto3's chain, the endpoint from the environment), a fake RAM.
    monkeypatch.setattr(adopt, "_real_readers", lambda resolved: lambda: (FakeRam(), adopt.AwsIamReader()))
    target = tmp_path / "adopt.json"
    code = cli.main(["adopt", "--stack", "prod", "--lookup", "--out", str(target)])
    line = one_line(capsys.readouterr().err)
    assert code == 1 and "AWS denied access while --lookup (IAM GetRole" in line and "AWS_PROFILE" in line
    assert not target.exists()


def test_adopt_lookup_without_a_region_is_one_line(aws, monkeypatch, capsys):
    from test_adopt import FakeRam

    from baseline import adopt

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setattr(adopt, "_real_readers", lambda resolved: lambda: (FakeRam(), adopt.AwsIamReader()))
    code = cli.main(["adopt", "--stack", "prod", "--lookup"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "no AWS region is configured" in line


@pytest.mark.parametrize(("command", "accepted"), [("adopt", 0), ("secrets", 1)])  # secrets: 1 = some unset
def test_adopt_and_secrets_refuse_another_stacks_file_unless_as_stack(command, accepted, capsys):

    prod = str(FIXTURES / "Pulumi.prod.yaml")
    code = cli.main([command, "--stack", "dev", "--config-file", prod])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and "--as-stack" in line
    assert cli.main([command, "--stack", "dev", "--config-file", prod, "--as-stack"]) == accepted
    assert "Stack dev" in capsys.readouterr().out or command == "adopt"


def test_a_teardown_stopped_half_way_is_finished_by_running_it_again(tmp_path, capsys):
    from test_teardown import TWO_RESOURCES, FakeWorkspace

    from baseline.ops import ephemeral, teardown

    class ShrinkingWorkspace(FakeWorkspace):
        """Like the engine: what was deleted leaves the state, what failed stays."""

        def destroy(self, on_progress) -> None:
            deleted = []

            def record(progress) -> None:
                on_progress(progress)
                if progress.status == "deleted":
                    deleted.append(progress.name)

            try:
                super().destroy(record)
            finally:
                self.deployment = {
                    **self.deployment,
                    "resources": [
                        r for r in self.deployment["resources"] if r["urn"].rsplit("::", 1)[-1] not in deleted
                    ],
                }

    path = ephemeral.write(7, stacks_dir=tmp_path)
    workspace = ShrinkingWorkspace(TWO_RESOURCES, fail_after=1)

    def once(fail_after):
        workspace.fail_after = fail_after
        out = io.StringIO()
        code = teardown.run("test-pr-7", yes=True, config_file=str(path),
                            workspace_factory=lambda s, c: workspace, out=out)  # fmt: skip
        return code, out.getvalue()

    code, _ = once(fail_after=1)
    assert code == 1 and "remove" not in workspace.calls
    assert "after 1 of 2 resources" in one_line(capsys.readouterr().err)
    code, out = once(fail_after=None)
    assert code == 0 and workspace.calls[-1] == "remove"
    assert "Stack test-pr-7: 1 resources will be destroyed" in out
    assert teardown.resource_rows(workspace.deployment) == []
