"""The bad-input battery: every file in tests/bad_stacks is refused cleanly."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from baseline.cli import EXIT_CONFIG, main

BAD = sorted((Path(__file__).parent / "bad_stacks").glob("*.yaml"))


def expectations(path: Path) -> list[tuple[str, str]]:
    """The file's leading ``# expect: key | words`` lines: one per error it must yield."""
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# expect:"), f"{path.name} must start with '# expect: key | words'"
    found = []
    for line in lines:
        if not line.startswith("# expect:"):
            break
        key, _, words = line.removeprefix("# expect:").partition("|")
        found.append((key.strip(), words.strip()))
    return found


def names(line: str, key: str, words: str) -> bool:
    return (f"ecs-access-baseline:{key}" in line or key in line) and words.lower() in line.lower()


def run(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["plan", "--stack", "test", "--format", "json", "--config-file", str(path)])
    return code, out.getvalue(), err.getvalue()


def test_battery_is_large_enough():
    assert len(BAD) >= 15


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_stack_is_refused_with_key_and_fix(path: Path):
    code, out, err = run(path)
    assert code == EXIT_CONFIG
    assert out == "", "nothing may be rendered for a bad stack"
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    # The file's message is one of the lines (a file may hold other errors beside it); every line
    # is an error naming its fix.
    assert all(line.startswith("error: ") and "Fix:" in line for line in lines), err
    for key, words in expectations(path):
        assert any(names(line, key, words) for line in lines), f"no line names {key!r} with {words!r}: {err}"
    # Secret values (plain text pasted where a secret belongs, or under `secure:`) never appear.
    for value in _secret_values(path):
        assert value not in err, "a secret value reached the error message"


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


SEVERAL = [p for p in BAD if len(expectations(p)) > 1]


def test_the_battery_holds_files_with_several_errors():
    assert len(SEVERAL) >= 2


@pytest.mark.parametrize("path", SEVERAL, ids=[p.stem for p in SEVERAL])
def test_every_error_of_a_file_is_reported_in_one_run(path: Path):
    """Independent errors (several settings, or every rule prod adds) come in one run, one line
    each in the order of the file's expectations, and nothing else."""
    code, out, err = run(path)
    lines = err.strip().splitlines()
    assert (code, out) == (EXIT_CONFIG, "")
    expected = expectations(path)
    assert len(lines) == len(expected), err
    for line, (key, words) in zip(lines, expected, strict=True):
        assert names(line, key, words), f"{line!r} should name {key!r} with {words!r}"


def test_the_lines_stop_at_the_limit_and_say_how_many_more(tmp_path: Path):
    from baseline.errors import SHOWN_ERRORS

    extra = 5
    typos = [f"  ecs-access-baseline:unknownSetting{n:02}: 1" for n in range(SHOWN_ERRORS + extra)]
    path = tmp_path / "many.yaml"
    path.write_text("config:\n  ecs-access-baseline:environment: dev\n" + "\n".join(typos) + "\n")
    code, out, err = run(path)
    lines = err.strip().splitlines()
    assert (code, out) == (EXIT_CONFIG, "")
    assert len(lines) == SHOWN_ERRORS + 1, err
    assert all("unknownSetting" in line and "Fix:" in line for line in lines[:-1])
    # The first ones, in key order: the user fixes from the top of the list.
    assert "unknownSetting00" in lines[0] and f"unknownSetting{SHOWN_ERRORS - 1:02}" in lines[-2]
    assert lines[-1] == f"error: and {extra} more (fix these and run again to see the rest)"


def test_exactly_the_limit_needs_no_more_line(tmp_path: Path):
    from baseline.errors import SHOWN_ERRORS

    typos = [f"  ecs-access-baseline:unknownSetting{n:02}: 1" for n in range(SHOWN_ERRORS)]
    path = tmp_path / "limit.yaml"
    path.write_text("config:\n  ecs-access-baseline:environment: dev\n" + "\n".join(typos) + "\n")
    lines = run(path)[2].strip().splitlines()
    assert len(lines) == SHOWN_ERRORS and not any(" more " in line for line in lines)
