"""The README is the user's manual: it must match the code."""

from __future__ import annotations

import re

from conftest import ROOT

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
        config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
        for key, value in config.items():
            name = key.split(":", 1)[1]
            for path in [name, *keys(value, f"{name}.")]:
                generic = re.sub(r"\.\d+(\.|$)", r"\1", path)
                assert generic in documented or generic.startswith("secrets."), f"{stack}: {path}"
