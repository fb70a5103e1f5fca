"""The README and the pages it links are the user's manual: they must match the code."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
from conftest import FIXTURES, ROOT, plan_of

from baseline.docgen import END, START, reference, rows

README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```", 2)[1]
    commands = [line for line in first_block.splitlines()[1:] if line.strip()]
    assert commands == ["make plan STACK=dev", "make test"]


def test_configuration_reference_is_generated_from_the_models():
    from baseline.docgen import PAGE

    page = (ROOT / PAGE).read_text()
    block = page[page.index(START) : page.index(END) + len(END)]
    assert block == reference(), f"run `make docs` and commit {PAGE}"


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


# --- every count the README and its pages state is checked here (or by the test its table names) -
# The README keeps only the figures a newcomer needs; the proofs, scanner counts and limits live
# on the pages below, and each count keeps its check on the page it moved to.

PAGES = {
    name: " ".join((ROOT / name).read_text().split())  # counts wrap across lines
    for name in (
        "README.md",
        "docs/configuration.md",
        "docs/deploying.md",
        "docs/proofs.md",
        "docs/development.md",
        "docs/adopting.md",
    )
}


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


def _starter_resources(name: str) -> int:
    from baseline.config import load_stack_file, resolve
    from baseline.plan import render

    path = DOCS / "starters" / f"{name}.yaml"
    return len(render(resolve(load_stack_file(path, "first")), "first")["resources"])


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


def _starter_names() -> list[str]:
    return sorted(path.stem for path in (DOCS / "starters").glob("*.yaml"))


# pattern -> (the page that states it, its true value)
COUNTS = {
    r"`policy/`, (\d+) rules,": ("docs/proofs.md", lambda: (_policy_rules(),)),
    r"`tests/bad_stacks/` holds (\d+) stack files": ("docs/proofs.md", lambda: (_bad_stacks(),)),
    r"runs (\d+) checks over the three stacks \((\d+) apply and pass, (\d+) skip": (
        "docs/proofs.md",
        _intent_outcomes,
    ),
    r"\((\d+) OOS \+ (\d+) ECS actions, (\d+) snapshot actions when": (
        "docs/configuration.md",
        _patch_actions,
    ),
    **{
        rf"\| `{name}` \| (\d+) \|": ("README.md", lambda name=name: (_starter_resources(name),))
        for name in _starter_names()
    },
}


# Counts another test holds true (the page names the scan; that test fails when it drifts).
CHECKED_BY = {
    r"stack's AWS documents are scanned too \((0) findings, 0 checkov IAM failures\)": (
        "docs/proofs.md",
        "test_scanners_aws.py",
        "test_the_pipeline_has_no_finding_from_either_scanner",
    ),
    r"stack's AWS documents are scanned too \(0 findings, (0) checkov IAM failures\)": (
        "docs/proofs.md",
        "test_scanners_aws.py",
        "test_prod_and_the_pipeline_pass_checkovs_iam_checks",
    ),
    r"zizmor \(offline, in `make test`\) reports (0) findings": (
        "docs/deploying.md",
        "test_workflow_security.py",
        "test_zizmor_reports_no_finding",
    ),
}


def _stated(pattern: str, page: str) -> tuple[int, ...]:
    found = re.findall(pattern, PAGES[page])
    assert len(found) == 1, f"{page} should state this once: {pattern}"
    values = found[0] if isinstance(found[0], tuple) else (found[0],)
    return tuple(int(v.replace(",", "")) for v in values)


@pytest.mark.parametrize("pattern", sorted(COUNTS))
def test_each_count_is_the_real_one(pattern):
    page, real = COUNTS[pattern]
    assert _stated(pattern, page) == tuple(real()), f"update {page}: {pattern}"


def test_each_limit_on_the_configuration_page_is_the_one_in_limits_py():
    for pattern, values in _limits().items():
        assert _stated(pattern, "docs/configuration.md") == values, (
            f"limits table (baseline/limits.py): {pattern}"
        )


def test_the_readme_lists_every_starter_with_its_resources():
    listed = re.findall(r"^\| `([a-z-]+)` \| \d+ \|$", README, re.MULTILINE)
    assert listed and sorted(listed) == _starter_names()
    for name in _starter_names():
        assert f"](docs/starters/{name}.yaml)" in README, name


def test_the_policy_pack_page_has_a_row_per_rule():
    page = (ROOT / "docs" / "policy-pack.md").read_text()
    names = re.findall(r"^\| `([a-z0-9-]+)` \| (?:mandatory|advisory) \|", page, re.MULTILINE)
    from policy.rules import POLICIES

    assert sorted(names) == sorted(p.name for p in POLICIES)


@pytest.mark.parametrize("pattern", sorted(CHECKED_BY))
def test_each_count_checked_elsewhere_names_a_test_that_exists(pattern):
    page, file, test = CHECKED_BY[pattern]
    assert _stated(pattern, page)
    assert f"def {test}(" in (ROOT / "tests" / file).read_text()


# The nouns a count in the prose may carry: each such count must be one COUNTS checks (the figure
# tables are checked by the tests they name).
COUNTED = (
    r"\b\d[\d,]* (?:policy )?(?:rules|stack files|checks|resources|tests|findings|actions|roles|users)\b"
)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_no_count_in_the_prose_goes_unchecked(page):
    prose = PAGES[page]
    mine = [pattern for pattern, (where, *_) in [*COUNTS.items(), *CHECKED_BY.items()] if where == page]
    checked = [m.span() for pattern in mine for m in re.finditer(pattern, prose)]
    unchecked = [
        m.group(0)
        for m in re.finditer(COUNTED, prose)
        if not any(start <= m.start() < end for start, end in checked)
    ]
    assert unchecked == [], f"check these counts of {page} in tests/test_readme.py COUNTS"


# --- the README a newcomer reads in ten minutes ---------------------------------------------------

README_MAX_LINES = 250


def test_the_readme_is_short_and_has_a_table_of_contents():
    assert len(README.splitlines()) <= README_MAX_LINES
    sections = re.findall(r"^## (.+)$", README, re.MULTILINE)
    contents = README[README.index("## Contents") :].split("\n## ", 1)[0]
    linked = re.findall(r"^- \[([^\]]+)\]\(#([a-z0-9-]+)\)", contents, re.MULTILINE)
    assert [title for title, _ in linked] == [s for s in sections if s != "Contents"]
    for title, anchor in linked:
        # GitHub's anchor: lower case, punctuation dropped, spaces to hyphens.
        assert anchor == re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-"), title


def _readme_prose(text: str = README) -> str:
    """The README without code, link targets and scenario ids: what is left is prose and tables."""
    text = re.sub(r"```.*?```", " ", text, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\bS[1-7]\b", " ", text)


def _fleet_benchmark():
    spec = importlib.util.spec_from_file_location(
        "fleet_benchmark", ROOT / "benchmarks" / "fleet_benchmark.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fleet_table() -> str:
    """The README's performance figures as the fleet benchmark's last run wrote them."""
    module = _fleet_benchmark()
    return module.readme_table(json.loads(module.RESULTS.read_text()))


def test_the_performance_figures_are_the_fleet_benchmarks_last_run():
    from baseline import limits

    module = _fleet_benchmark()
    results = json.loads(module.RESULTS.read_text())
    assert module.readme_table(results) in README
    # The sizes do not depend on the machine: they are recomputed, and the targets hold on them.
    tagged = {row["tags_largest_policy"] for row in results["fleets"].values()}
    plan = plan_of("prod-tags")
    documents = [r["inputs"].get("policyDocument") for r in plan["resources"]]
    assert tagged == {max(len(d) for d in documents if isinstance(d, str))}
    assert max(tagged) <= limits.RAM_POLICY_DOCUMENT_MAX // 2
    for size, row in results["fleets"].items():
        assert row["ids_refused"] == (module.computed_largest(int(size)) > limits.RAM_POLICY_DOCUMENT_MAX)
        if row["ids_refused"]:
            assert row["ids_largest_policy"] == module.computed_largest(int(size))
    assert all(results["targets"].values())


def test_every_number_in_the_readme_is_checked():
    checked = README.replace(_fleet_table(), "")
    for pattern, (page, _) in COUNTS.items():
        if page == "README.md":
            # What COUNTS checks is masked; any number left is one nothing checks.
            checked = re.sub(pattern, lambda m: re.sub(r"\d", "#", m.group(0)), checked)
    unchecked = re.findall(r"\d[\d,.]*", _readme_prose(checked))
    assert unchecked == [], "every number the README states needs its check in COUNTS"


def test_the_readme_names_guides_by_their_public_titles_only():
    # Internal references (our copies of the guides, issue numbers) mean nothing to a newcomer.
    assert not re.search(r"\bseeds?\b|\bissue #?\d|#\d+\b", _readme_prose(), re.IGNORECASE)


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_every_page_is_linked_from_the_readme_and_every_link_lands():
    pages = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", README))
    assert linked == {p.name for p in DOCS.glob("*.md")}, "the README's Documentation table"
    for page in pages:
        prose = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if target.startswith(("https://", "http://")):
                continue
            path, _, anchor = target.partition("#")
            dest = page.parent / path if path else page
            assert dest.exists(), f"{page.name}: {target}"
            if anchor:
                text = re.sub(r"```.*?```", "", dest.read_text(), flags=re.DOTALL)
                headings = {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}
                assert anchor in headings, f"{page.name}: {target}"


def _outputs_table() -> dict[str, str]:
    """key -> its secret column, from the README's stack outputs table."""
    table = README[README.index("| output | key | what | secret |") :].split("\n\n", 1)[0]
    found = {}
    for row in table.splitlines()[2:]:
        output, keys, _, secret = (cell.strip() for cell in row.strip("|").split("|"))
        for key in re.findall(r"`(\w+)`", keys) or re.findall(r"`(\w+)`", output):
            found[key] = secret
    return found


def test_the_outputs_table_names_every_stack_output_and_which_are_secret():
    import json

    from conftest import render_file

    plans = [render_file(path, "first") for path in sorted((DOCS / "starters").glob("*.yaml"))]
    plans += [render_file(path) for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))]
    secret: dict[str, bool] = {}
    for plan in plans:
        for name, value in plan["outputs"].items():
            for key, item in value.items() if isinstance(value, dict) else [(name, value)]:
                secret[key] = secret.get(key, False) or "[secret]" in json.dumps(item)
    table = _outputs_table()
    assert set(table) == set(secret)
    assert {key for key, column in table.items() if column != "no"} == {k for k, s in secret.items() if s}
