"""Who may read prod's secrets, and what a reviewer's approval stands for (issue 24, points 6 and 7).

Static checks over the workflows, the pipeline stack's roles and the bootstrap step that configures
GitHub's environments (docs/operations.md, section 8): the rules hold across all three, because a
gate is only as good as the setting a workflow relies on.
"""

from __future__ import annotations

import json
import re

import test_s7_pipeline as s7
import test_workflow_trust as trust
import test_workflows as wf
import yaml
from conftest import ROOT, STACKS_DIR

OPERATIONS = ROOT / "docs" / "operations.md"
PASSPHRASE = "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
# One `gh api` call per environment, its JSON body in a here-document (section 8, step 6; the
# list item's indentation is the Markdown's, not the shell's).
_ENVIRONMENT_CALL = re.compile(
    r"^ *gh api -X PUT repos/OWNER/REPO/environments/([\w-]+) --input - <<JSON\n(.*?)\n *JSON$", re.S | re.M
)


def section(number: int) -> str:
    text = OPERATIONS.read_text()
    start = text.index(f"\n## {number}. ")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def bootstrap_environments() -> dict[str, dict]:
    """Each GitHub environment as the bootstrap step creates it (its variables read as 1)."""
    found = {}
    for name, body in _ENVIRONMENT_CALL.findall(section(8)):
        assert name not in found, f"the bootstrap configures {name} twice"
        found[name] = json.loads(re.sub(r"\$\{\w+\}|\$\w+", "1", body))
    assert found, "section 8 configures no GitHub environment"
    return found


def has_reviewers(settings: dict) -> bool:
    return bool(settings.get("reviewers")) and settings.get("prevent_self_review") is True


def _prod_secrets() -> dict[str, tuple[str, str]]:
    """Where prod's secrets can be read: cloud -> (action, resource) per kind of secret."""
    prod = yaml.safe_load((STACKS_DIR / "Pulumi.prod.yaml").read_text())["config"]
    ali, region = (prod["ecs-access-baseline:alicloud"][k] for k in ("accountId", "region"))
    parameter = prod["ecs-access-baseline:cloudAssistantWindows"]["secretParameter"]
    pipeline = s7.pipeline_stack()["ecs-access-baseline:pipeline"]
    bucket, path = pipeline["awsStateBucket"], pipeline["awsStatePath"]
    project = "ecs-access-baseline"
    return {
        # The checkpoint holds every secret output (AccessKey secrets, console passwords) encrypted.
        "state": ("aws", "s3:GetObject", f"arn:aws:s3:::{bucket}/{path}/.pulumi/stacks/{project}/prod.json"),
        "parameter": ("alicloud", "oos:GetSecretParameter",
                      f"acs:oos:{region}:{ali}:secretparameter/{parameter['name']}"),
        "key": ("alicloud", "kms:Decrypt", f"acs:kms:{region}:{ali}:key/{parameter['kmsKeyId']}"),
    }  # fmt: skip


def _role_environment(resource: dict, cloud: str) -> str:
    """The one GitHub environment a pipeline role trusts (the same in each of its subjects)."""
    subjects = trust.trusted_subjects(resource["inputs"][s7.TRUST_KEYS[cloud]], cloud)
    (environment,) = {trust.SUBJECT.fullmatch(sub)["environment"] for sub in subjects}
    return environment


def environments_that_can_decrypt_prod() -> dict[str, set[str]]:
    """GitHub environment -> the ways into prod's secrets its roles or its passphrase give.

    Roles: every pipeline role the plan lets read prod's checkpoint, prod's secret parameter or the
    key that encrypts it. Passphrase: every environment a job runs a Pulumi operation on prod in
    with the environment's PULUMI_CONFIG_PASSPHRASE (the passphrase that decrypts prod's config
    and state is prod's, wherever a job is given it)."""
    found: dict[str, set[str]] = {}
    plan = s7.plan()
    for kind, (cloud, action, resource) in _prod_secrets().items():
        for role in (r for r in plan["resources"] if r["type"] == s7.ROLE_TYPES[cloud]):
            name = role["inputs"].get("roleName") or role["inputs"]["name"]
            if s7.can(cloud, name, action, resource):
                found.setdefault(_role_environment(role, cloud), set()).add(f"{cloud} role {name}: {kind}")
    for path, name, job, workflow in wf.jobs():
        if (job.get("env") or {}).get("PULUMI_CONFIG_PASSPHRASE") != PASSPHRASE:
            continue
        for operation, stack, matrix in wf.stacks_of(job, workflow):
            if stack == "prod" and operation != "make":  # `make plan`/`make policy` are offline
                found.setdefault(wf.environment(job, workflow, matrix), set()).add(
                    f"{path.name}:{name} {operation} with the passphrase"
                )
    return found


def test_the_bootstrap_configures_every_environment_a_workflow_names():
    configured = bootstrap_environments()
    named = {wf.environment(j, w, m) for _, _, j, w in wf.jobs() for m in wf.variants(j) or [{}]} - {""}
    assert named == set(configured), f"configured {sorted(configured)}, named {sorted(named)}"


def test_prods_secrets_are_decryptable_only_behind_required_reviewers():
    """Issue 24, point 6: no job outside an environment with required reviewers can decrypt
    prod's config or state. Checked against the roles the pipeline stack grants, the workflows'
    jobs and the environments the bootstrap step creates; the derivation must find prod's own
    ways in (its deploy and preview roles, its passphrase) or the check proves nothing."""
    configured = bootstrap_environments()
    reach = environments_that_can_decrypt_prod()
    assert {"prod", "prod-preview"} <= set(reach), reach
    for environment, ways in sorted(reach.items()):
        assert has_reviewers(configured.get(environment, {})), (
            f"{environment} can decrypt prod ({sorted(ways)}); the bootstrap gives it no required reviewers"
        )


def test_environments_without_prods_secrets_need_no_reviewer():
    """The gate costs a person's time: only where prod's secrets are (dev and staging flow)."""
    configured = bootstrap_environments()
    reach = environments_that_can_decrypt_prod()
    assert {e for e, s in configured.items() if has_reviewers(s)} == set(reach)


def test_every_real_environment_deploys_from_main_only_and_the_sandbox_from_any_branch():
    call = r"gh api -X POST repos/OWNER/REPO/environments/([\w-]+)/deployment-branch-policies"
    branches = dict(re.findall(call + r" -f name=(\S+) -f type=branch", section(8)))
    for environment, settings in bootstrap_environments().items():
        policy = settings.get("deployment_branch_policy")
        if environment == wf.SANDBOX:
            assert policy is None and environment not in branches
        else:
            assert policy == {"protected_branches": False, "custom_branch_policies": True}, environment
            assert branches.get(environment) == "main", environment


def test_a_scheduled_job_waiting_for_prods_reviewers_holds_up_no_other_stack():
    """prod's daily drift check waits for an approval; a workflow-wide concurrency group would keep
    every later run (dev's and staging's checks too) pending behind it."""
    reviewed = {e for e, s in bootstrap_environments().items() if has_reviewers(s)}
    checked = 0
    for path, name, job, workflow in wf.jobs():
        if "schedule" not in wf.triggers(workflow):
            continue
        variants = wf.variants(job) or [{}]
        if not {wf.environment(job, workflow, m) for m in variants} & reviewed:
            continue
        checked += 1
        assert not workflow.get("concurrency"), f"{path.name}: one group for every stack"
        group = str((job.get("concurrency") or {}).get("group"))
        groups = {wf.expand(group, job, workflow, m) for m in variants}
        assert len(groups) == len(variants), f"{path.name}:{name} shares a concurrency group: {groups}"
    assert checked


def _checks_out_the_default_branch(job: dict) -> bool:
    checkouts = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    return bool(checkouts) and all(set(s.get("with") or {}) == {"persist-credentials"} for s in checkouts)


def test_the_evidence_on_a_pull_request_is_the_default_branchs_or_labelled_the_prs_own():
    """Issue 24, point 7: the access diff and the policy result a reviewer reads are computed by
    the default branch's analyzer and pack (a workflow_run: its workflow and code), over the PR's
    plans; a check the PR's own code computes says so in its name."""
    judged = 0
    for path, name, job, workflow in wf.jobs():
        commands = wf.runs(job)
        judges = [c for c in commands if "-m baseline.ops.pr_comment judge " in c]
        pack = [c for c in commands if re.search(r"\bmake policy\b|-m baseline (policy|diff)\b", c)]
        renders = [c for c in commands if "-m baseline.ops.pr_comment render " in c]
        if "pull_request" in wf.triggers(workflow):
            assert not judges and not renders, f"{path.name}:{name}: the PR's code writes the comment"
            if pack:
                assert "the PR's own" in job["name"], f"{path.name}:{name} does not say whose pack it runs"
        if judges:
            judged += 1
            assert set(wf.triggers(workflow)) == {"workflow_run"}, path.name
            assert _checks_out_the_default_branch(job), f"{path.name}:{name} checks out another ref"
    assert judged == 1


DEPLOY = ROOT / ".github" / "workflows" / "deploy.yml"


def _needs(job: dict) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _upstream(jobs: dict, name: str) -> set[str]:
    """Every job ``name`` waits for, directly or through another."""
    found, todo = set(), _needs(jobs[name])
    while todo:
        if (need := todo.pop()) not in found:
            found.add(need)
            todo += _needs(jobs[need])
    return found


def _ups(workflow: dict) -> dict[str, str]:
    """stack -> the job that runs its `pulumi up`."""
    return {
        wf.expand(i["stack-name"], job, workflow, {}): name
        for name, job in workflow["jobs"].items()
        for i in wf.pulumi_steps(job)
        if i.get("command") == "up"
    }


def test_each_up_waits_for_its_own_stacks_preview_and_no_later_stacks_reviewers():
    """Review finding 10: dev's and staging's ups needed the whole preview matrix, prod-preview's
    approval included. Each up names its own stack's preview; no job a stack's up waits for runs in
    an environment with reviewers unless it is that stack's (dev -> staging -> prod stays)."""
    workflow = wf.load(DEPLOY)
    jobs, reviewed = workflow["jobs"], {e for e, s in bootstrap_environments().items() if has_reviewers(s)}
    ups = _ups(workflow)
    assert set(ups) == set(wf.LONG_LIVED)
    for stack, name in ups.items():
        previews = {
            wf.environment(jobs[n], workflow, m) for n in _needs(jobs[name]) for m in wf.variants(jobs[n])
        } & {f"{s}-preview" for s in wf.LONG_LIVED}
        assert previews == {f"{stack}-preview"}, f"{stack}'s up waits for the previews of {sorted(previews)}"
        waited = {
            wf.environment(jobs[n], workflow, m) for n in _upstream(jobs, name) for m in wf.variants(jobs[n])
        }
        gates = waited & reviewed
        assert gates <= {f"{stack}-preview"}, f"{stack}'s up waits for the reviewers of {sorted(gates)}"
    assert "prod-preview" in reviewed


def test_no_merges_deployment_is_dropped_or_applied_over_a_newer_one():
    """Review finding 10: a workflow-wide group keeps one pending run and cancels it when a newer
    merge arrives (GitHub's concurrency semantics), and holds every stack behind prod's approval.
    Per-stack groups queue every run (`queue: max`), cancel nothing running, and each up first
    refuses a commit that is no longer main's head (queued jobs may reach a group out of order)."""
    workflow = wf.load(DEPLOY)
    assert not workflow.get("concurrency"), "one group for every stack"
    groups = {}
    for name, job in workflow["jobs"].items():
        stacks = {s for op, s, _ in wf.stacks_of(job, workflow) if op != "make"}
        if not stacks:
            continue
        (stack,) = stacks
        concurrency = job.get("concurrency") or {}
        assert concurrency.get("cancel-in-progress") is False and concurrency.get("queue") == "max", name
        assert stack in concurrency["group"], f"{name}: group {concurrency['group']} is not {stack}'s"
        groups[name] = concurrency["group"].lower()  # GitHub compares groups case-insensitively
    assert len(set(groups.values())) == len(groups) == 6, groups
    ups = _ups(workflow)
    for stack, name in ups.items():
        steps = workflow["jobs"][name]["steps"]
        (check,) = [i for i, s in enumerate(steps) if "commits/heads/main" in s.get("run", "")]
        run = steps[check]["run"]
        assert 'gh api "repos/$GITHUB_REPOSITORY/commits/heads/main" --jq .sha' in run
        assert '[ "$head" != "$GITHUB_SHA" ]' in run and "exit 1" in run
        assert steps[check]["env"] == {"GH_TOKEN": "${{ github.token }}"}
        assert workflow["jobs"][name]["permissions"]["contents"] == "read"
        clouds = [
            i for i, s in enumerate(steps) if s.get("uses", "").startswith((*wf.CLOUD_ACTIONS, "pulumi/"))
        ]
        assert check < min(clouds), f"{stack}: the head check comes after a cloud step"
