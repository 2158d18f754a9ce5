"""The user documents stay what users need: a README that guides, BENCHMARKS that answer first, and every command
they show still exists with the flags they give it."""
import re
import shlex

import pytest

from app.cli import build_parser

from conftest import ROOT

README = (ROOT / "README.md").read_text()
BENCHMARKS = (ROOT / "BENCHMARKS.md").read_text()
DOCS = {"README.md": README, "BENCHMARKS.md": BENCHMARKS}


def test_the_readme_is_a_guide_that_opens_with_its_two_commands():
    assert len(README.splitlines()) <= 180
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    assert first_block.splitlines()[0].startswith("make demo") and "make test" in first_block
    for section in ("## Use", "## Outputs", "## Speed and accuracy", "## Security", "## Set-up notes", "## Layout"):
        assert section in README


def test_benchmarks_answer_first_and_keep_the_log_elsewhere():
    lines = BENCHMARKS.splitlines()
    assert len(lines) <= 450
    headings = [ln for ln in lines if ln.startswith("## ")]
    assert headings[0] == "## Summary"
    summary = BENCHMARKS.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert summary.count("\n| ") >= 10 and "| question | answer | machine | command |" in summary
    for word in ("asked", "not taken", "one-off"):
        assert word not in BENCHMARKS.lower(), f"BENCHMARKS.md says {word!r}: decision history belongs in docs/history.md"


def _script_mentions() -> list[tuple[str, str, list[str]]]:
    """``(document, script, flags)`` for each ``python benchmarks/X.py ...`` or ``python training/X.py ...`` in
    inline code or shell blocks of the user documents."""
    found = []
    for name, text in DOCS.items():
        for span in re.findall(r"python ((?:benchmarks|training)/[a-z_]+\.py[^`\n]*)", text):
            words = span.split()
            found.append((name, words[0], [w.split("=")[0] for w in words[1:] if w.startswith("--")]))
    return found


@pytest.mark.parametrize("doc, script, flags", _script_mentions(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_script_a_document_runs_exists_with_its_flags(doc, script, flags):
    path = ROOT / script
    assert path.is_file(), f"{doc} runs {script}, which does not exist"
    text = path.read_text() + (ROOT / "benchmarks" / "benchlib.py").read_text()
    missing = [f for f in flags if f'"{f}"' not in text and f"'{f}'" not in text]
    if script.startswith("training/train.py"):
        missing = []                                   # every config key is a flag there (tests/test_readme.py)
    assert not missing, f"{doc}: {script} has no {missing}"


def _ssapose_mentions() -> list[list[str]]:
    return [shlex.split(s)[1:] for s in re.findall(r"`(ssapose [a-z][^`]*)`", BENCHMARKS)]


@pytest.mark.parametrize("words", _ssapose_mentions(), ids=lambda w: " ".join(w)[:50])
def test_every_command_benchmarks_shows_exists(words):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert words[0] in commands, f"BENCHMARKS.md shows `ssapose {' '.join(words)}`: no such command"
    options = {o for a in commands[words[0]]._actions for o in a.option_strings}
    unknown = [w for w in words if w.startswith("--") and w.split("=")[0] not in options]
    assert not unknown, f"`ssapose {' '.join(words)}`: no {unknown}"
