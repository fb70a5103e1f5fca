"""A fork that replaced the example stacks with its own keeps the stack-generic tests green.

The fork is this repository's tracked files with stacks/ replaced as an organisation would
(tests/forks.py: other names, accounts and instance ids, no example header, no staging, the
starter copied as a new stack) plus a pull request's git-ignored ``ephemeral`` file. The tests
marked ``shipped`` of the modules below then run there in a fresh pytest: the policy pack, the
escalation proofs and the graph judge every stack the fork holds, the sweep and the deployer
map take its names. Not run there: the workflows check, since a fork that drops staging or
renames prod must edit its workflows too (that test tells it where).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from conftest import ROOT, shipped_stacks
from forks import PROD, organisation_stacks

from baseline.ops import ephemeral

GENERIC = [
    "tests/test_policy_pack.py",
    "tests/test_escalation_proofs.py",
    "tests/test_graph.py",
    "tests/test_sweep.py",
]


def fork(target) -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in listed.stdout.splitlines():
        if name.startswith("stacks/") or not (ROOT / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    stacks = organisation_stacks(target / "stacks")
    ephemeral.write(12, stacks_dir=target / "stacks", source=target / "stacks" / "Pulumi.dev.yaml")
    return stacks


def test_the_fork_holds_what_an_organisation_would():
    """The fork differs from the examples where an adoption does (else the run below proves little)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        stacks = Path(directory) / "stacks"
        names = organisation_stacks(stacks)
        assert shipped_stacks(stacks) == sorted(names) and "staging" not in names and PROD in names
        for name in names:
            text = (stacks / f"Pulumi.{name}.yaml").read_text()
            assert "5012345678901234" not in text and "i-bp1devapp" not in text
        assert not (stacks / "Pulumi.dev.yaml").read_text().startswith("#")  # no "example ids" header


def test_the_stack_generic_tests_pass_in_a_fork_with_its_own_stacks(tmp_path):
    stacks = fork(tmp_path)
    assert (tmp_path / "stacks" / f"Pulumi.{ephemeral.stack_name(12)}.yaml").is_file()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    argv = [sys.executable, "-m", "pytest", "-v", "-p", "no:xdist", "-p", "no:cacheprovider", "-m", "shipped"]
    done = subprocess.run(argv + GENERIC, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    # Every stack of the fork was judged under its own name; the per-PR file by no test.
    for stack in stacks:
        assert f"test_the_checked_in_stacks_pass_every_mandatory_rule[{stack}] PASSED" in done.stdout
        assert (
            f"test_no_principal_reaches_an_escalation_beyond_its_stated_reach[{stack}] PASSED" in done.stdout
        )
    assert f"[{PROD}] PASSED" in done.stdout.split("test_no_staging_or_prod_stack_in_stacks")[1]
    assert ephemeral.stack_name(12) not in done.stdout
