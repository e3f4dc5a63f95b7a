"""No `# type: ignore` stands without a reason: each names the error it silences and
says why beside it (`# type: ignore[arg-type]  # why`), or the type is fixed instead.
mypy's warn_unused_ignores (pyproject.toml) removes the ones that silence nothing."""

import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

IGNORE = re.compile(r"type:\s*ignore")
# `type: ignore[code, code]` then `# ` and at least a few words of reason.
EXPLAINED = re.compile(r"#\s*type:\s*ignore\[[a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*\]\s+#\s*\S.{8,}")


def unexplained(source: str) -> list[tuple[int, str]]:
    """(line, comment) of every `type: ignore` comment without a code and a reason."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if (
            token.type == tokenize.COMMENT
            and IGNORE.search(token.string)
            and not EXPLAINED.search(token.string)
        ):
            found.append((token.start[0], token.string))
    return found


def test_every_type_ignore_in_webapp_has_a_code_and_a_reason_when_scanned() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {comment}"
        for path in sorted((ROOT / "webapp").rglob("*.py"))
        for line, comment in unexplained(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "line",
    [
        "x = f()  # type: ignore",
        "x = f()  # type: ignore[arg-type]",
        "x = f()  # type: ignore  # the library is wrong",
        "x = f()  # type: ignore[arg-type]  #",
        "x = f()  # type:ignore[arg-type] # ok",
    ],
)
def test_a_type_ignore_is_refused_when_it_lacks_a_code_or_a_reason(line: str) -> None:
    assert unexplained(line + "\n") != []


@pytest.mark.parametrize(
    "line",
    [
        "x = f()  # type: ignore[arg-type]  # the job only runs automated steps",
        "x = f()  # type: ignore[attr-defined, union-attr]  # set by the proxy at run time",
        'x = "# type: ignore"  # a string, not a comment',
    ],
)
def test_a_type_ignore_is_accepted_when_it_names_its_code_and_says_why(line: str) -> None:
    assert unexplained(line + "\n") == []
