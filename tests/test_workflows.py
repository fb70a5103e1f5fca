"""The GitHub Actions workflows call only what exists and deploy only where they should.

actionlint is not run here (its Python wheel builds from a download this machine cannot make);
these tests check the structure it would, plus what only this project knows: every make target,
``python -m baseline`` subcommand and stack a workflow names exists, and no pull request can
deploy a long-lived stack.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import re
from functools import cache
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, STACKS_DIR

from baseline import cli

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LONG_LIVED = ("dev", "staging", "prod")
EPHEMERAL = re.compile(r"test-pr-\$\{\{github\.event\.pull_request\.number\}\}")
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}")  # a tag can be moved; a commit cannot
# pulumi/actions v7 inputs (its action.yml); a misspelt input is silently ignored by Actions.
PULUMI_ACTION_INPUTS = {
    "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr",
    "comment-on-pr-number", "comment-on-summary", "github-token", "cloud-url", "secrets-provider",
    "parallel", "message", "config-map", "expect-no-changes", "diff", "replace", "exclude",
    "exclude-dependents", "target", "target-dependents", "policyPacks", "policyPackConfigs", "refresh",
    "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs",
    "suppress-progress", "always-include-summary", "continue-on-error", "log-verbosity", "log-flow",
    "debug",
}  # fmt: skip
# The state backend's URL and passphrase: the only secrets a cloud job reads. Cloud access itself
# is OIDC (no stored key): the roles come from the `pipeline` stack's outputs, set as variables.
SECRET_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")
SUPPORTED_PYTHONS = ["3.11", "3.12", "3.13"]


@cache
def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    return {on: None} if isinstance(on, str) else dict(on)


def jobs() -> list[tuple[Path, str, dict, dict]]:
    return [(path, name, job, load(path)) for path in WORKFLOWS for name, job in load(path)["jobs"].items()]


def job_ids():
    return [f"{path.stem}:{name}" for path, name, _, _ in jobs()]


def variants(job: dict) -> list[dict[str, str]]:
    """One substitution map per matrix combination (one empty map without a matrix)."""
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    keys = [k for k, v in matrix.items() if isinstance(v, list)]
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(matrix[k] for k in keys))]


def expand(text: str, job: dict, workflow: dict, matrix: dict[str, str]) -> str:
    """Resolve ${{ matrix.x }}, ${{ env.X }} and $X / "$X" to what the runner would see."""
    env = {**(workflow.get("env") or {}), **(job.get("env") or {})}
    for _ in range(3):
        text = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: matrix.get(m.group(1), m.group(0)), text)
        text = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: str(env.get(m.group(1), m.group(0))), text)
        text = re.sub(r'"?\$\{?(\w+)\}?"?', lambda m: str(env.get(m.group(1), m.group(0))), text)
    # What is left (the PR number) becomes one token, written without spaces.
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", r"${{\1}}", text)


def runs(job: dict) -> list[str]:
    """Every shell command of a job, continuation lines joined, the step's own `env:` resolved.

    Expressions reach `run:` only through `env:` (tests/test_workflow_security.py), so a step's
    `$STACK` stands for its `env: {STACK: ${{ matrix.stack }}}`.
    """
    commands = []
    for step in job.get("steps", []):
        if "run" in step:
            env = {k: str(v) for k, v in (step.get("env") or {}).items()}
            text = re.sub(
                r'"?\$\{?(\w+)\}?"?',
                lambda m, env=env: env.get(m.group(1), m.group(0)),
                step["run"].replace("\\\n", " "),
            )
            commands.extend(line.strip() for line in text.splitlines() if line.strip())
    return commands


def pulumi_steps(job: dict) -> list[dict]:
    return [
        s.get("with") or {} for s in job.get("steps", []) if s.get("uses", "").startswith("pulumi/actions@")
    ]


def stacks_of(job: dict, workflow: dict) -> list[tuple[str, str, dict]]:
    """(operation, stack, matrix) for every stack a job operates on."""
    found = []
    for matrix in variants(job) or [{}]:
        for step in pulumi_steps(job):
            if step.get("command"):
                found.append((step["command"], expand(step["stack-name"], job, workflow, matrix), matrix))
        for command in runs(job):
            resolved = expand(command, job, workflow, matrix)
            for stack in re.findall(r"\bSTACK=(\S+)", resolved):
                found.append(("make", stack, matrix))
            for sub, stack in re.findall(r"-m baseline (\w[\w-]*) .*?--stack (\S+)", resolved):
                found.append((sub, stack, matrix))
            for stack in re.findall(r"\bpulumi \w+ .*?(?:-s|--stack) (\S+)", resolved):
                found.append(("pulumi", stack, matrix))
    return found


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE)}


def baseline_subcommands() -> set[str]:
    parser = cli.parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def environment(job: dict, workflow: dict, matrix: dict[str, str]) -> str:
    return expand(str(job.get("environment", "")), job, workflow, matrix)


def test_there_are_workflows_and_each_parses_with_triggers_and_jobs():
    assert {p.stem for p in WORKFLOWS} >= {"pull-request", "deploy", "drift", "test-stack"}
    for path in WORKFLOWS:
        workflow = load(path)
        assert triggers(workflow), path.name
        assert workflow["jobs"], path.name


@pytest.mark.parametrize(("path", "name", "job", "workflow"), jobs(), ids=job_ids())
def test_every_job_has_a_runner_and_steps(path, name, job, workflow):
    assert job.get("runs-on"), f"{path.name}:{name} has no runs-on"
    assert job.get("steps"), f"{path.name}:{name} has no steps"
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), f"{path.name}:{name}: a step is `uses` or `run`"


@pytest.mark.parametrize(("path", "name", "job", "workflow"), jobs(), ids=job_ids())
def test_every_action_is_pinned_to_a_commit(path, name, job, workflow):
    for step in job["steps"]:
        if "uses" in step:
            assert PINNED.fullmatch(step["uses"]), f"{path.name}:{name}: {step['uses']} is not pinned"


@pytest.mark.parametrize(("path", "name", "job", "workflow"), jobs(), ids=job_ids())
def test_pulumi_action_inputs_are_ones_it_reads(path, name, job, workflow):
    for inputs in pulumi_steps(job):
        unknown = set(inputs) - PULUMI_ACTION_INPUTS
        assert not unknown, f"{path.name}:{name}: pulumi/actions ignores {sorted(unknown)}"
        assert inputs.get("pulumi-version-file") == ".pulumi-version", "pin the CLI to the SDK's version"


def test_every_make_target_a_workflow_calls_exists():
    targets = makefile_targets()
    called = {
        (path.name, t)
        for path, _, job, _ in jobs()
        for c in runs(job)
        for t in re.findall(r"\bmake (\w[\w-]*)", c)
    }
    assert called
    missing = sorted(f"{name}: make {target}" for name, target in called if target not in targets)
    assert not missing, f"not in the Makefile: {missing}"


def test_every_baseline_subcommand_and_module_a_workflow_calls_exists():
    subcommands = baseline_subcommands()
    called = [(path.name, c) for path, _, job, _ in jobs() for c in runs(job)]
    seen = 0
    for name, command in called:
        for sub in re.findall(r"-m baseline (\w[\w-]*)", command):
            seen += 1
            assert sub in subcommands, f"{name}: `python -m baseline {sub}` is not a subcommand"
        for module in re.findall(r"-m (baseline\.\w+)", command):
            seen += 1
            assert importlib.util.find_spec(module), f"{name}: no module {module}"
    assert seen


@pytest.mark.shipped  # the workflows deploy the repository's own stacks, whatever they are
def test_every_stack_a_workflow_names_exists_or_is_the_pull_requests_own():
    for path, name, job, workflow in jobs():
        for operation, stack, _ in stacks_of(job, workflow):
            if EPHEMERAL.fullmatch(stack):
                continue
            assert (STACKS_DIR / f"Pulumi.{stack}.yaml").is_file(), f"{path.name}:{name} {operation} {stack}"


def test_pull_requests_never_change_a_long_lived_stack():
    for path, name, job, workflow in jobs():
        if "pull_request" not in triggers(workflow):
            continue
        for operation, stack, _ in stacks_of(job, workflow):
            if operation in ("up", "update", "destroy", "refresh", "teardown", "pulumi"):
                assert stack not in LONG_LIVED, (
                    f"{path.name}:{name} would {operation} {stack} from a pull request"
                )
        for command in runs(job):
            assert not re.search(r"\bpulumi (up|destroy|refresh)\b", command), (
                f"{path.name}:{name}: {command}"
            )


def test_a_job_that_deploys_a_stack_runs_in_that_stacks_environment():
    deployed = set()
    for path, name, job, workflow in jobs():
        for operation, stack, matrix in stacks_of(job, workflow):
            if operation in ("up", "update", "destroy"):
                expected = "test" if EPHEMERAL.fullmatch(stack) else stack
                assert environment(job, workflow, matrix) == expected, f"{path.name}:{name}"
                deployed.add(stack)
    assert set(LONG_LIVED) <= deployed


def test_every_job_touching_prod_uses_a_prod_environment():
    for path, name, job, workflow in jobs():
        for operation, stack, matrix in stacks_of(job, workflow):
            if stack == "prod" and operation != "make":
                env = environment(job, workflow, matrix)
                assert env in ("prod", "prod-preview"), f"{path.name}:{name} touches prod in {env!r}"
                if operation in ("up", "update", "destroy"):
                    assert env == "prod"


def _up_jobs(trigger: str) -> dict[str, tuple[str, dict]]:
    found = {}
    for _path, name, job, workflow in jobs():
        if trigger in triggers(workflow):
            for operation, stack, _ in stacks_of(job, workflow):
                if operation == "up":
                    found[stack] = (name, job)
    return found


def test_a_merge_to_main_promotes_dev_then_staging_then_prod():
    ups = _up_jobs("push")
    assert set(ups) == set(LONG_LIVED)
    for earlier, later in (("dev", "staging"), ("staging", "prod")):
        needs = ups[later][1].get("needs")
        needs = [needs] if isinstance(needs, str) else needs or []
        assert ups[earlier][0] in needs, f"{later} must wait for {earlier}"
    for path in WORKFLOWS:
        if "push" in triggers(load(path)):
            assert triggers(load(path))["push"]["branches"] == ["main"]


def test_every_stack_is_previewed_after_the_merge_and_its_up_applies_exactly_that_preview():
    """The real preview reads the clouds and the stack's state: reviewed code only (issue 16). It
    saves an update plan; the stack's up applies that plan, digest-checked (issue 24, point 7)."""
    after_merge, ups = {}, {}
    for _path, name, job, workflow in jobs():
        assert not ({"pull_request", "pull_request_target"} & set(triggers(workflow))) or not any(
            i.get("command") == "preview" for i in pulumi_steps(job)
        ), f"{name}: a pull request's code previews a real stack"
        if "push" not in triggers(workflow):
            continue
        for matrix in variants(job) or [{}]:
            commands = [i.get("command") for i in pulumi_steps(job)]
            for inputs in pulumi_steps(job):
                stack = expand(inputs.get("stack-name", ""), job, workflow, matrix)
                if inputs.get("command") == "preview" and "up" not in commands:
                    after_merge[stack] = (name, job, environment(job, workflow, matrix), inputs, matrix)
                if inputs.get("command") == "up":
                    assert commands == ["up"], f"{name}: the up job's only Pulumi operation is the up"
                    ups[stack] = (job, inputs)
    assert set(after_merge) == set(ups) == set(LONG_LIVED)
    for stack, (preview, job, env, inputs, matrix) in after_merge.items():
        # Read-only roles; the result lands in the run's summary, read before prod is approved.
        assert env == f"{stack}-preview"
        assert inputs["diff"] is True and inputs["policyPacks"] == "policy"
        assert inputs["comment-on-summary"] is True and "comment-on-pr" not in inputs
        saved = inputs["plan"]
        upload = _step_of(job, "actions/upload-artifact")
        assert expand(upload["with"]["name"], job, {}, matrix) == f"plan-{stack}"
        assert upload["with"]["path"] == saved
        # Its digest, the preview job's output (one job per stack, so each up needs only its own).
        step_id = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.plan \}\}", job["outputs"]["plan"])
        assert step_id, job["outputs"]
        (digest,) = [s for s in job["steps"] if s.get("id") == step_id.group(1)]
        assert digest["env"]["STACK"] == stack
        assert (
            'sha256sum "$RUNNER_TEMP/plan.json"' in digest["run"] and saved == "${{ runner.temp }}/plan.json"
        )
        assert 'echo "plan=$digest" >> "$GITHUB_OUTPUT"' in digest["run"]
        up_job, up = ups[stack]
        assert preview in up_job["needs"], f"{stack}'s up cannot read the preview's digest"
        steps = up_job["steps"]
        download = _step_of(up_job, "actions/download-artifact")
        assert download["with"]["name"] == f"plan-{stack}"
        (check,) = [s for s in steps if "sha256sum --check" in s.get("run", "")]
        assert check["env"]["DIGEST"] == f"${{{{ needs.{preview}.outputs.plan }}}}"
        plan_file = f"{download['with']['path']}/plan.json"
        on_runner = plan_file.replace("${{ runner.temp }}", "$RUNNER_TEMP")
        assert check["run"] == f'echo "$DIGEST  {on_runner}" | sha256sum --check --strict'
        assert up["plan"] == plan_file and up["policyPacks"] == "policy" and up["diff"] is True
        up_step = next(s for s in steps if (s.get("with") or {}).get("command") == "up")
        assert steps.index(download) < steps.index(check) < steps.index(up_step), stack


# Pull request events: the PR's code (pull_request) or the base's code acting on a PR
# (pull_request_target, workflow_run after a PR's workflow).
PR_TRIGGERS = ("pull_request", "pull_request_target", "workflow_run")
# The sandbox: the one GitHub environment a pull request's jobs may use (its own accounts, state
# and passphrase: stacks/Pulumi.pipeline.yaml, docs/operations.md section 3).
SANDBOX = "test"
CLOUD_ACTIONS = ("aws-actions/configure-aws-credentials@", "aliyun/configure-aliyun-credentials-action@")
# A secret other than the job's own GITHUB_TOKEN: a passphrase, a state backend URL, a key.
STORED_SECRET = re.compile(r"secrets\.(?!GITHUB_TOKEN\b)\w+")


def _run_by_pull_requests(workflow: dict) -> bool:
    return bool(set(PR_TRIGGERS) & set(triggers(workflow)))


def test_no_job_a_pull_request_runs_holds_a_passphrase_state_or_cloud_role_outside_the_sandbox():
    """Static check of every workflow: a PR-triggered job outside the sandbox has no environment,
    no OIDC token (no cloud role), no stored secret (no passphrase, no state backend URL)."""
    checked = 0
    for path in WORKFLOWS:
        workflow = load(path)
        if not _run_by_pull_requests(workflow):
            continue
        assert not STORED_SECRET.search(yaml.safe_dump(workflow.get("env") or {})), path.name
        for name, job in workflow["jobs"].items():
            checked += 1
            where = f"{path.name}:{name}"
            envs = {environment(job, workflow, m) for m in variants(job) or [{}]} - {""}
            if envs:
                assert envs == {SANDBOX}, f"{where} runs in {sorted(envs)}: only the sandbox may"
                assert "pull_request" in triggers(workflow) and set(triggers(workflow)) == {"pull_request"}
                continue
            assert (job.get("permissions") or {}).get("id-token") != "write", f"{where} can mint a token"
            assert not STORED_SECRET.search(yaml.safe_dump(job)), f"{where} reads a stored secret"
            uses = [s.get("uses", "") for s in job.get("steps", [])]
            assert not [u for u in uses if u.startswith(CLOUD_ACTIONS)], f"{where} assumes a cloud role"
    assert checked >= 4


def test_real_environments_run_only_from_main_pushes_schedules_or_by_hand():
    """dev, staging, prod and their previews are named only by workflows a pull request cannot
    start; GitHub's deployment branch rule (main only, docs/operations.md section 3) stops a
    workflow a PR adds from naming them."""
    real = {*LONG_LIVED, *(f"{s}-preview" for s in LONG_LIVED)}
    named = set()
    for path, name, job, workflow in jobs():
        for matrix in variants(job) or [{}]:
            env = environment(job, workflow, matrix)
            if env in real:
                named.add(env)
                assert set(triggers(workflow)) <= {"push", "schedule", "workflow_dispatch"}, (
                    f"{path.name}:{name}"
                )
                if "push" in triggers(workflow):
                    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert named == real
    operations = (ROOT / "docs" / "operations.md").read_text()
    assert "Deployment branches and tags" in operations and "Selected branches" in operations


def test_pull_requests_run_the_tests_and_the_policy_checks_for_every_stack():
    commands = {
        expand(c, job, workflow, matrix)
        for path, name, job, workflow in jobs()
        if "pull_request" in triggers(workflow)
        for matrix in variants(job) or [{}]
        for c in runs(job)
    }
    assert "make test" in commands
    assert {f"make policy STACK={stack}" for stack in LONG_LIVED} <= commands


def test_the_drift_check_refreshes_every_stack_and_fails_on_any_change():
    checked, listed = set(), set()
    for _path, _name, job, workflow in jobs():
        # The scheduled jobs that run Pulumi (the sandbox sweep runs none: it reads no state).
        if "schedule" in triggers(workflow) and pulumi_steps(job):
            for matrix in variants(job):
                for inputs in pulumi_steps(job):
                    assert inputs["command"] == "preview"
                    assert inputs["refresh"] is True and inputs["expect-no-changes"] is True
                    checked.add(expand(inputs["stack-name"], job, workflow, matrix))
            # A refresh reads only what the state holds: `baseline drift` lists what is beside it
            # (keys, login profiles, attachments), after the refresh and even when it failed.
            steps = job["steps"]
            refresh = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("pulumi/actions@"))
            (drift,) = [i for i, s in enumerate(steps) if s.get("name") == "Credentials and attachments"]
            assert drift > refresh and steps[drift]["if"] == "success() || failure()"
            assert steps[drift]["run"] == '.venv/bin/python -m baseline drift --stack "$STACK"'
            for matrix in variants(job):
                listed.update(s for op, s, m in stacks_of(job, workflow) if op == "drift" and m == matrix)
            report = next(i for i, s in enumerate(steps) if "gh issue create" in s.get("run", ""))
            assert steps[report]["if"] == "failure()" and report > drift
    assert checked == listed == set(LONG_LIVED)


def test_each_pull_request_gets_its_own_stack_created_on_push_and_torn_down_on_close():
    workflow = next(
        load(p)
        for p in WORKFLOWS
        if "pull_request" in triggers(load(p))
        and "closed" in (triggers(load(p))["pull_request"] or {}).get("types", [])
    )
    assert {"opened", "synchronize", "closed"} <= set(triggers(workflow)["pull_request"]["types"])
    created = destroyed = False
    for job in workflow["jobs"].values():
        for operation, stack, _ in stacks_of(job, workflow):
            if operation == "up" and EPHEMERAL.fullmatch(stack):
                assert "!= 'closed'" in job["if"]
                # created before `up` with an explicit secrets provider (its secrets are set in between)
                assert any(_CREATE.fullmatch(expand(c, job, workflow, {})) for c in runs(job))
                created = True
            if operation == "teardown" and EPHEMERAL.fullmatch(stack):
                assert "== 'closed'" in job["if"]
                assert any(re.search(r"-m baseline teardown --stack \S+ --yes", c) for c in runs(job))
                destroyed = True
    assert created and destroyed


_CREATE = re.compile(r"pulumi stack select --create test-pr-\S+ --secrets-provider passphrase")


def _github_secret(name: str) -> str:
    """The `test` environment secret holding a stack secret: axtSecretPassword -> TEST_AXT_SECRET_PASSWORD."""
    return "TEST_" + re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def test_the_pr_stack_gets_every_secret_it_needs_between_create_and_up(tmp_path):
    """Derived from the generated PR stack itself (``baseline secrets``' own list), so a secret a
    scenario starts to reference fails here until the workflow stores it."""
    from baseline.ops import ephemeral
    from baseline.stack_secrets import statuses

    path = ephemeral.write(12, stacks_dir=tmp_path)
    needed = [s.need.name for s in statuses(ephemeral.stack_name(12), config_file=str(path)) if not s.is_set]
    assert needed  # dev's S3 parameter today: the check bites
    workflow = load(ROOT / ".github" / "workflows" / "test-stack.yml")
    (job,) = [j for j in workflow["jobs"].values() if any(c == "up" for c, _, _ in stacks_of(j, workflow))]
    steps = job["steps"]
    pulumi = [i for i, s in enumerate(steps) if s.get("uses", "").startswith("pulumi/actions@")]
    install = next(i for i in pulumi if not (steps[i].get("with") or {}).get("command"))
    up = next(i for i in pulumi if (steps[i].get("with") or {}).get("command") == "up")
    select = next(i for i, s in enumerate(steps) if "pulumi stack select" in s.get("run", ""))
    assert steps[select]["run"] == 'pulumi stack select --create "$TEST_STACK" --secrets-provider passphrase'
    assert install < select < up
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in needed:
        secret = _github_secret(name)
        (store,) = [i for i, s in enumerate(steps) if f"--set {name} --stdin" in s.get("run", "")]
        env = steps[store].get("env") or {}
        (variable,) = [k for k, v in env.items() if v == f"${{{{ secrets.{secret} }}}}"]
        command = " ".join(steps[store]["run"].split())
        assert command == (
            f"printf '%s\\n' \"${variable}\" | .venv/bin/python -m baseline secrets "
            f'--stack "$TEST_STACK" --set {name} --stdin'
        )
        assert select < store < up
        assert f"`{secret}`" in operations, f"document the {secret} environment secret in docs/operations.md"


def _step_of(job: dict, action: str) -> dict | None:
    return next((s for s in job["steps"] if s.get("uses", "").startswith(f"{action}@")), None)


@pytest.mark.parametrize(("path", "name", "job", "workflow"), jobs(), ids=job_ids())
def test_cloud_jobs_assume_their_environments_roles_through_oidc(path, name, job, workflow):
    touches_cloud = any(i.get("command") for i in pulumi_steps(job)) or any(
        "-m baseline teardown" in c or "-m baseline sweep" in c for c in runs(job)
    )
    if not touches_cloud:
        return
    assert (job.get("permissions") or {}).get("id-token") == "write", f"{path.name}:{name}"
    assert job.get("environment"), f"{path.name}:{name}: the roles trust a GitHub environment's subject"
    aws = _step_of(job, "aws-actions/configure-aws-credentials")
    assert aws and aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}", f"{path.name}:{name}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])
    alicloud = _step_of(job, "aliyun/configure-aliyun-credentials-action")
    assert alicloud, f"{path.name}:{name} gets no Alibaba Cloud role"
    # Both inputs select the action's OIDC path (AssumeRoleWithOIDC); the audience is the client
    # id the pipeline stack registers on the RAM OIDC provider.
    assert alicloud["with"]["role-to-assume"] == "${{ vars.ALICLOUD_ROLE_ARN }}"
    assert alicloud["with"]["oidc-provider-arn"] == "${{ vars.ALICLOUD_OIDC_PROVIDER_ARN }}"
    assert alicloud["with"]["audience"] == "sts.aliyuncs.com"
    steps = job["steps"]
    first_cloud = min(
        [i for i, s in enumerate(steps) if s.get("uses", "").startswith("pulumi/actions@")]
        + [i for i, s in enumerate(steps) if re.search(r"-m baseline (teardown|sweep)\b", s.get("run", ""))]
    )
    assert steps.index(aws) < first_cloud and steps.index(alicloud) < first_cloud, f"{path.name}:{name}"
    env = job.get("env") or {}
    if not (any(i.get("command") for i in pulumi_steps(job)) or runs_teardown(job)):
        # A sweep reads no state: no backend URL, no passphrase, no stored secret at all.
        assert not STORED_SECRET.search(yaml.safe_dump(job)), f"{path.name}:{name} reads a stored secret"
        return
    assert set(env) == set(SECRET_ENV), f"{path.name}:{name}: {sorted(env)}"
    for key in SECRET_ENV:
        assert env.get(key) == f"${{{{ secrets.{key} }}}}", f"{path.name}:{name}: {key}"


def test_pull_requests_test_every_supported_python():
    tested = set()
    for _path, _name, job, workflow in jobs():
        if "pull_request" in triggers(workflow) and "make test" in runs(job):
            python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
            for matrix in variants(job) or [{}]:
                tested.add(expand(str(python["with"]["python-version"]), job, workflow, matrix))
    assert sorted(tested) == SUPPORTED_PYTHONS


def test_the_pulumi_cli_version_is_the_sdk_version():
    pinned = re.search(r"^pulumi==([\d.]+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert (ROOT / ".pulumi-version").read_text().strip() == pinned.group(1)


def test_no_workflow_that_runs_pulumi_cancels_a_run_in_progress():
    """A Pulumi operation killed mid-way leaves a lock (and, for an update, pending operations).
    The workflow's group, or the job's own (a job waiting for a reviewer must not hold up others)."""
    for path in WORKFLOWS:
        workflow = load(path)
        for name, job in workflow["jobs"].items():
            if pulumi_steps(job) or runs_teardown(job):
                group = job.get("concurrency") or workflow.get("concurrency") or {}
                assert group.get("cancel-in-progress") is False, f"{path.name}:{name}"


def runs_teardown(job: dict) -> bool:
    return any("-m baseline teardown" in c for c in runs(job))


def test_closing_a_pull_request_sweeps_the_whole_sandbox_by_age_sparing_open_ones():
    """Issue 24: what a pull request's code names without the marker survives the per-PR sweep; the
    sandbox sweep takes every `pr*` identity by age in both clouds, after the per-PR sweep."""
    job = load(ROOT / ".github" / "workflows" / "test-stack.yml")["jobs"]["teardown"]
    commands = runs(job)
    per_pr = max(i for i, c in enumerate(commands) if "sweep" in c and "--prefix" in c)
    for cloud in ("alicloud", "aws"):
        (index,) = [i for i, c in enumerate(commands) if "--sandbox" in c and f"--cloud {cloud}" in c]
        command = commands[index]
        assert index > per_pr and "--delete" in command and '--open-prs "$open_prs"' in command
    assert job["permissions"].get("pull-requests") == "read"


def test_the_sandbox_is_swept_on_a_schedule_by_mains_own_job():
    """Review finding 2: the PR-close sweep runs the closing PR's copy of test-stack.yml (a PR may
    drop it) and only when a PR closes. main's scheduled sweep takes every `pr*` identity by age
    in both clouds, sparing the open pull requests, with the sandbox's roles and nothing else.
    The sandbox roles' trust names this file: keep its name."""
    path = ROOT / ".github" / "workflows" / "sandbox-sweep.yml"
    workflow = load(path)
    assert set(triggers(workflow)) == {"schedule", "workflow_dispatch"}
    assert triggers(workflow)["schedule"][0]["cron"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    ((_name, job),) = workflow["jobs"].items()
    assert job["if"] == "github.ref == 'refs/heads/main'"
    assert environment(job, workflow, {}) == SANDBOX
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "read"}
    commands = runs(job)
    listing = next(c for c in commands if c.startswith("open_prs=$(gh pr list "))
    assert "--state open" in listing and '--repo "$GITHUB_REPOSITORY"' in listing
    for cloud in ("alicloud", "aws"):
        (command,) = [c for c in commands if f"sweep --cloud {cloud} " in c]
        assert command.startswith(
            f'.venv/bin/python -m baseline sweep --cloud {cloud} --sandbox --open-prs "$open_prs" '
            "--older-than 6h --delete"
        ), command
        assert commands.index(listing) < commands.index(command)
    # Both clouds are swept even when the first fails, and the job fails then.
    assert commands[-1] == 'exit "$status"' and sum(c.endswith("|| status=1") for c in commands) == 2
    # The sweep's own flags, as the CLI parses them.
    args = cli.parser().parse_args(
        ["sweep", "--cloud", "aws", "--sandbox", "--open-prs", "1,2", "--older-than", "6h", "--delete"]
    )
    assert args.sandbox and args.delete and args.older_than == "6h"


def test_a_pull_requests_up_refreshes_so_what_the_sandbox_sweep_removed_comes_back():
    """Review finding 3: an open pull request's identities are swept once older than
    --open-pr-max-age. Without a refresh, `up` trusts a state that still holds them and creates
    nothing; with it, the PR's next push recreates them."""
    workflow = load(ROOT / ".github" / "workflows" / "test-stack.yml")
    (job,) = [j for j in workflow["jobs"].values() if any(c == "up" for c, _, _ in stacks_of(j, workflow))]
    (up,) = [i for i in pulumi_steps(job) if i.get("command") == "up"]
    assert up["refresh"] is True
