"""Small mistakes a newcomer makes while adopting the project, each refused or warned about with
its reason: a tab in the YAML (named by the option actually used), a stack file given to --stack,
the example account ids of the error messages, and one page for installing the Pulumi CLI."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

from baseline import stackfile
from baseline.cli import EXIT_CONFIG, main
from baseline.errors import ConfigError

EXAMPLE = ROOT / "stacks" / "Pulumi.example.yaml"
# A tab where the alicloud block's keys should be indented: line 4, column 1.
TABBED = "config:\n  ecs-access-baseline:environment: dev\n  ecs-access-baseline:alicloud:\n\taccountId: x\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def stacks_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where `--stack NAME` finds Pulumi.NAME.yaml for this test: its own directory, so nothing
    is written into the checked-in stacks/."""
    monkeypatch.setattr(stackfile, "stack_file", lambda stack, config_file: tmp_path / f"Pulumi.{stack}.yaml")
    return tmp_path


def test_a_tab_in_a_stack_named_by_stack_names_stack_the_file_and_the_reason(stacks_dir: Path):
    (stacks_dir / "Pulumi.tabbed.yaml").write_text(TABBED)
    code, out, err = run("plan", "--stack", "tabbed")
    assert (code, out) == (EXIT_CONFIG, "")
    assert err.startswith("error: --stack = 'tabbed': "), err
    assert "--config-file" not in err
    assert f"{stacks_dir / 'Pulumi.tabbed.yaml'}: not valid YAML at line 4, column 1" in err
    assert "found character '\\t' that cannot start any token" in err
    assert "Fix: indent with spaces" in err


def test_a_tab_in_a_config_file_names_config_file(tmp_path: Path):
    path = tmp_path / "Pulumi.tabbed.yaml"
    path.write_text(TABBED)
    code, _, err = run("plan", "--stack", "tabbed", "--config-file", str(path))
    assert code == EXIT_CONFIG
    assert err.startswith(f"error: --config-file = {str(path)!r}: not valid YAML at line 4, column 1: "), err
    assert "'\\t'" in err


def test_another_syntax_error_gives_the_parsers_reason_and_the_plain_fix(tmp_path: Path):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("config:\n  ecs-access-baseline:environment: [dev\n")
    err = run("plan", "--stack", "x", "--config-file", str(path))[2]
    assert re.search(r"not valid YAML at line \d+, column \d+: did not find expected ',' or '\]'", err), err
    assert "Fix: correct the YAML syntax there" in err


@pytest.mark.parametrize(
    ("given", "fix"),
    [
        (
            "/elsewhere/Pulumi.northwind.yaml",
            "Fix: pass --stack northwind --config-file /elsewhere/Pulumi.northwind.yaml\n",
        ),
        ("candidate.yml", "Fix: pass --stack <name> --config-file candidate.yml\n"),
    ],
)
def test_a_file_given_to_stack_is_refused_with_the_stack_name_to_pass(given: str, fix: str):
    code, out, err = run("plan", "--stack", given)
    assert (code, out) == (EXIT_CONFIG, "")
    assert err.startswith(f"error: --stack = {given!r}: --stack takes a stack's name, not its file"), err
    assert "Pulumi.stacks" not in err and err.endswith(fix), err


def test_a_file_in_stacks_given_to_stack_names_the_stack(monkeypatch: pytest.MonkeyPatch):
    # Run from the directory holding stacks/, as from the project root the README names: the
    # examples' copy stands in for stacks/ (the tests never depend on what a fork keeps there).
    monkeypatch.chdir(FIXTURES.parent)
    err = run("plan", "--stack", "stacks/Pulumi.dev.yaml")[2]
    assert err.endswith("Fix: pass --stack dev\n"), err


def _starter_with(tmp_path: Path, account: str) -> Path:
    text = EXAMPLE.read_text().replace("5000000000000001", account)
    path = tmp_path / "Pulumi.first.yaml"
    path.write_text(text.replace("i-bp1example000000001", "i-bp1m2k3n4p5q6r7s8t9"))
    return path


def test_the_error_messages_example_account_id_is_warned_about_like_the_starters(tmp_path: Path):
    from baseline.settings import EXAMPLE_ALICLOUD_ACCOUNT

    path = _starter_with(tmp_path, EXAMPLE_ALICLOUD_ACCOUNT)
    code, out, err = run("plan", "--stack", "first", "--format", "json", "--config-file", str(path))
    assert code == 0 and out
    assert err.splitlines() == [
        "warning: ecs-access-baseline:alicloud.accountId = '1234567890123456' is the example the error "
        "messages give for an Alibaba Cloud account id; replace it with your own (pulumi up refuses to "
        "start while it is here)"
    ]


def test_the_message_that_gives_the_example_is_the_one_placeholder_recognition_reads(tmp_path: Path):
    """The id a newcomer copies from the account id error is the one the plan then warns about."""
    from baseline.config import example_values, load_stack_file, resolve

    bad = _starter_with(tmp_path, "12345")
    with pytest.raises(ConfigError) as raised:
        resolve(load_stack_file(bad))
    copied = re.search(r'e\.g\. "(\d+)"', raised.value.fix)[1]
    good = _starter_with(tmp_path, copied)
    assert [p.setting for p in example_values(resolve(load_stack_file(good)))] == ["alicloud.accountId"]


def test_a_real_run_refuses_the_example_account_id(tmp_path: Path):
    from baseline.config import load_stack_file, refuse_examples, resolve

    resolved = resolve(load_stack_file(_starter_with(tmp_path, "1234567890123456")))
    with pytest.raises(ConfigError, match="the example the error messages give for an Alibaba Cloud"):
        refuse_examples(resolved)


def test_the_aws_example_account_id_is_a_placeholder_too(tmp_path: Path):
    from baseline.config import example_values, load_stack_document, resolve

    document = {
        "config": {
            "ecs-access-baseline:environment": "dev",
            "ecs-access-baseline:aws": {"accountId": "123456789012", "region": "eu-west-1"},
            "ecs-access-baseline:ecsMcpServer": {
                "enabled": True,
                "trustedPrincipals": ["210987654321"],
                "troubleshooting": {"enabled": True},
            },
        }
    }
    found = example_values(resolve(load_stack_document(document, "x", "x.yaml")))
    assert [(p.setting, p.what) for p in found] == [("aws.accountId", "AWS account id")]


def test_one_install_page_for_the_pulumi_cli():
    """Both hints that say to install the Pulumi CLI link the same page, defined once."""
    from baseline.errors import PULUMI_INSTALL_URL

    sources = [p for p in (ROOT / "baseline").rglob("*.py")]
    links = {
        url
        for path in sources
        for url in re.findall(r"https://www\.pulumi\.com/docs/[\w/.-]*install[\w/.-]*", path.read_text())
    }
    assert links == {PULUMI_INSTALL_URL}
    defined = [p for p in sources if PULUMI_INSTALL_URL in p.read_text()]
    assert defined == [ROOT / "baseline" / "errors.py"]
