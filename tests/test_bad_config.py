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
    # Secrets never appear in messages: the battery's secure values all contain "Ciphertext".
    assert "Q2lwaGVydGV4" not in line
