"""An organisation's own stacks, made from the example fixtures: other names, accounts and instances.

What a fork of this project holds in ``stacks/`` after replacing the examples: no example-ids
header, the organisation's account ids and instance ids, a production stack named after the
organisation, no staging, the starter copied as a new stack and a pull request's ``ephemeral``
file. tests/test_fork.py runs the stack-generic tests over such a directory.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stacks"

# The examples' account ids -> an organisation's (same lengths, so every format check still holds).
ACCOUNTS = {
    "5012345678901234": "5731904468210577",  # dev, Alibaba Cloud
    "5023456789012345": "5731904468210588",  # staging
    "5098765432109876": "5731904468210599",  # prod
    "5011112222333344": "5731904468210500",  # pipeline's home
    "5055556666777788": "5731904468210511",  # sandbox
    "111122223333": "602914738805",  # dev and staging, AWS
    "444455556666": "602914738816",  # prod
    "777788889999": "602914738827",  # pipeline's home
    "222233334444": "602914738838",  # sandbox
}
PROD = "northwind"  # the organisation's production stack, not named prod


def _own_ids(text: str) -> str:
    for example, own in ACCOUNTS.items():
        text = text.replace(example, own)
    # i-bp1devapp0000000001 -> i-bp11000000000ppaved: the same form, another instance.
    text = re.sub(r"\bi-bp1([0-9a-z]+)", lambda m: "i-bp1" + m.group(1)[::-1], text)
    return text.replace("acme", "nwco")  # the same length: the deploy policies sit near their limit


def _without_header(text: str) -> str:
    """A real stack's file: the examples' leading comment (its ids are examples) dropped."""
    return text[text.index("config:") :]


def organisation_stacks(target: Path) -> list[str]:
    """Write the organisation's stack files into ``target``; the stack names written."""
    target.mkdir(parents=True, exist_ok=True)
    dev = _own_ids(_without_header((FIXTURES / "Pulumi.dev.yaml").read_text()))
    (target / "Pulumi.dev.yaml").write_text(dev)
    prod = _own_ids(_without_header((FIXTURES / "Pulumi.prod.yaml").read_text()))
    (target / f"Pulumi.{PROD}.yaml").write_text(prod)
    document = yaml.safe_load(_own_ids(_without_header((FIXTURES / "Pulumi.pipeline.yaml").read_text())))
    pipeline = document["config"]["ecs-access-baseline:pipeline"]
    # No staging: the pipeline deploys dev, the organisation's production stack and the sandbox.
    environments = [e for e in pipeline["environments"] if e["name"] != "staging"]
    for environment in environments:
        if environment["name"] == "prod":
            environment["stack"] = PROD
    pipeline["environments"] = environments
    (target / "Pulumi.pipeline.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copy(FIXTURES / "Pulumi.example.yaml", target / "Pulumi.first.yaml")
    return ["dev", PROD, "pipeline", "first"]
