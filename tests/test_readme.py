"""The README is the user's manual: it must match the code."""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURES, ROOT

from baseline.docgen import END, START, reference, rows

README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```", 2)[1]
    commands = [line for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make plan STACK=dev", "make test"]


def test_configuration_reference_is_generated_from_the_models():
    block = README[README.index(START) : README.index(END) + len(END)]
    assert block == reference(), "run `make docs` and commit README.md"


def test_every_setting_has_a_description():
    from baseline.config import StackSettings

    missing = [key for key, _, _, description in rows(StackSettings) if not description.strip()]
    assert not missing, f"settings without a description: {missing}"


def test_every_key_in_the_stack_files_is_documented():
    import yaml

    documented = {key for key, *_ in rows(__import__("baseline.config").config.StackSettings)} | {"secrets"}

    def keys(value, prefix=""):
        if isinstance(value, dict) and set(value) != {"secure"}:
            for key, item in value.items():
                path = f"{prefix}{key}"
                yield path
                if not path.startswith("secrets"):
                    yield from keys(item, f"{path}.")

    for stack in ("dev", "staging", "prod"):
        config = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())["config"]
        for key, value in config.items():
            name = key.split(":", 1)[1]
            for path in [name, *keys(value, f"{name}.")]:
                generic = re.sub(r"\.\d+(\.|$)", r"\1", path)
                assert generic in documented or generic.startswith("secrets."), f"{stack}: {path}"


# --- every count the README states is checked here (or by the test its table names) --------------

PROSE = " ".join(README.split())  # counts wrap across lines


def _intent_outcomes() -> tuple[int, int, int]:
    """(checks, passed, skipped) of tests/test_intent.py, as pytest reports them."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_intent.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    summary = done.stdout.strip().splitlines()[-1]
    passed = int(re.search(r"(\d+) passed", summary)[1])
    skipped = int(m[1]) if (m := re.search(r"(\d+) skipped", summary)) else 0
    assert done.returncode == 0 and "failed" not in summary, summary
    return passed + skipped, passed, skipped


def _starter_resources() -> int:
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render

    path = FIXTURES / "Pulumi.example.yaml"
    return len(render(resolve(load_stack_file(path, "example")), "first")["resources"])


def _patch_actions() -> tuple[int, int, int]:
    from baseline.documents import alicloud

    return (
        len(alicloud.PATCH_OOS_ACTIONS),
        len(alicloud.PATCH_ECS_ACTIONS),
        len(alicloud.PATCH_SNAPSHOT_ACTIONS),
    )


def _policy_rules() -> int:
    from policy.rules import POLICIES

    return len(POLICIES)


def _bad_stacks() -> int:
    return len(list((ROOT / "tests" / "bad_stacks").glob("*.yaml")))


def _range(pattern: re.Pattern[str], shift: int = 0) -> tuple[int, int]:
    low, high = re.search(r"\{(\d+),(\d+)\}", pattern.pattern).groups()
    return int(low) + shift, int(high) + shift


def _limits() -> dict[str, tuple[int, ...]]:
    from baseline import limits

    return {
        r"\| RAM policy document \| ([\d,]+) characters \|": (limits.RAM_POLICY_DOCUMENT_MAX,),
        r"\| policies per RAM principal \| ([\d,]+) custom, ([\d,]+) system \|": (
            limits.RAM_CUSTOM_POLICIES_PER_PRINCIPAL,
            limits.RAM_SYSTEM_POLICIES_PER_PRINCIPAL,
        ),
        r"\| AccessKeys per RAM user \| ([\d,]+) \|": (limits.RAM_ACCESS_KEYS_PER_USER,),
        r"\| role session duration \| ([\d,]+)-([\d,]+) s \|": (
            limits.RAM_ROLE_SESSION_MIN,
            limits.RAM_ROLE_SESSION_MAX,
        ),
        r"\| OOS parameter name \| ([\d,]+)-([\d,]+) of letters": _range(limits.OOS_PARAMETER_NAME),
        r"\| OOS parameter value \| 1-([\d,]+) characters \|": (limits.OOS_VALUE_MAX,),
        r"\| resource group name \| ([\d,]+)-([\d,]+) letters": _range(limits.RESOURCE_GROUP_NAME, shift=1),
        r"\| IAM managed policy / trust policy \| ([\d,]+) / ([\d,]+) characters": (
            limits.IAM_MANAGED_POLICY_MAX,
            limits.IAM_TRUST_POLICY_MAX,
        ),
        r"\| managed policies per IAM role \| ([\d,]+) \|": (limits.IAM_MANAGED_POLICIES_PER_ROLE,),
        r"passwords are generated\*\* at deploy time \(`random.RandomPassword`, ([\d,]+) characters": (
            limits.GENERATED_PASSWORD_LENGTH,
        ),
    }


COUNTS = {
    r"`policy/`, (\d+) rules,": lambda: (_policy_rules(),),
    r"`tests/bad_stacks/` holds (\d+) stack files": lambda: (_bad_stacks(),),
    r"runs (\d+) checks over the three stacks \((\d+) apply and pass, (\d+) skip": _intent_outcomes,
    r"make plan STACK=first # (\d+) resources, offline": lambda: (_starter_resources(),),
    r"\((\d+) OOS \+ (\d+) ECS actions, (\d+) snapshot actions when": _patch_actions,
}


# Counts another test holds true (the README names the scan; that test fails when it drifts).
CHECKED_BY = {
    r"stack's AWS documents are scanned too \((0) findings, 0 checkov IAM failures\)": (
        "test_scanners_aws.py",
        "test_the_pipeline_has_no_finding_from_either_scanner",
    ),
    r"stack's AWS documents are scanned too \(0 findings, (0) checkov IAM failures\)": (
        "test_scanners_aws.py",
        "test_prod_and_the_pipeline_pass_checkovs_iam_checks",
    ),
    r"zizmor \(offline, in `make test`\) reports (0) findings": (
        "test_workflow_security.py",
        "test_zizmor_reports_no_finding",
    ),
}


def _stated(pattern: str) -> tuple[int, ...]:
    found = re.findall(pattern, PROSE)
    assert len(found) == 1, f"the README should state this once: {pattern}"
    values = found[0] if isinstance(found[0], tuple) else (found[0],)
    return tuple(int(v.replace(",", "")) for v in values)


@pytest.mark.parametrize("pattern", sorted(COUNTS))
def test_each_count_in_the_readme_is_the_real_one(pattern):
    assert _stated(pattern) == tuple(COUNTS[pattern]()), f"update the README: {pattern}"


def test_each_limit_in_the_readme_is_the_one_in_limits_py():
    for pattern, values in _limits().items():
        assert _stated(pattern) == values, f"README limits table (baseline/limits.py): {pattern}"


def test_the_policy_pack_page_has_a_row_per_rule():
    page = (ROOT / "docs" / "policy-pack.md").read_text()
    names = re.findall(r"^\| `([a-z0-9-]+)` \| (?:mandatory|advisory) \|", page, re.MULTILINE)
    from policy.rules import POLICIES

    assert sorted(names) == sorted(p.name for p in POLICIES)


@pytest.mark.parametrize("pattern", sorted(CHECKED_BY))
def test_each_count_checked_elsewhere_names_a_test_that_exists(pattern):
    file, test = CHECKED_BY[pattern]
    assert _stated(pattern)
    assert f"def {test}(" in (ROOT / "tests" / file).read_text()


# The nouns a count in the README's prose may carry: each such count must be one COUNTS checks
# (the figure tables are checked by the tests they name).
COUNTED = (
    r"\b\d[\d,]* (?:policy )?(?:rules|stack files|checks|resources|tests|findings|actions|roles|users)\b"
)


def test_no_count_in_the_prose_goes_unchecked():
    checked = [m.span() for pattern in [*COUNTS, *CHECKED_BY] for m in re.finditer(pattern, PROSE)]
    unchecked = [
        m.group(0)
        for m in re.finditer(COUNTED, PROSE)
        if not any(start <= m.start() < end for start, end in checked)
    ]
    assert unchecked == [], "check these counts in tests/test_readme.py COUNTS"
