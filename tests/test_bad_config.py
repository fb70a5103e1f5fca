"""The bad-input battery: every file in tests/bad_stacks is refused cleanly."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from baseline.cli import EXIT_CONFIG, main

BAD = sorted((Path(__file__).parent / "bad_stacks").glob("*.yaml"))


def expectation(path: Path) -> tuple[str, str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect:"), f"{path.name} must start with '# expect: key | words'"
    key, _, words = first.removeprefix("# expect:").partition("|")
    return key.strip(), words.strip()


def run(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["plan", "--stack", "test", "--format", "json", "--config-file", str(path)])
    return code, out.getvalue(), err.getvalue()


def test_battery_is_large_enough():
    assert len(BAD) >= 15


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_stack_is_refused_with_key_and_fix(path: Path):
    key, words = expectation(path)
    code, out, err = run(path)
    assert code == EXIT_CONFIG
    assert out == "", "nothing may be rendered for a bad stack"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"one line expected, got: {err}"
    line = lines[0]
    assert "Traceback" not in err
    assert f"ecs-access-baseline:{key}" in line or key in line, line
    assert words.lower() in line.lower(), line
    assert "Fix:" in line, line
    # Secret values (plain text pasted where a secret belongs, or under `secure:`) never appear.
    for value in _secret_values(path):
        assert value not in line, "a secret value reached the error message"


def _secret_values(path: Path) -> list[str]:
    import yaml

    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return []
    config = document.get("config") if isinstance(document, dict) else document
    found: list[str] = []

    def walk(value, secret: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, secret or str(key).endswith(("secrets", "secure", "password", "value")))
        elif isinstance(value, list):
            for item in value:
                walk(item, secret)
        elif secret and value is not None and len(str(value)) > 3:
            found.append(str(value))

    walk(config, False)
    return found


def test_the_secret_value_check_sees_the_battery_secrets():
    """The check above is not vacuous: the plain-text battery files hold values it looks for."""
    values = _secret_values(Path(__file__).parent / "bad_stacks" / "s3_plaintext_secret_entry.yaml")
    assert values == ["Windows-P@ssw0rd"]
