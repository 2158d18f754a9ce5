"""Every command line the README shows exists: its subcommand and each of its flags (no docs rot)."""
import re
import shlex
import subprocess
import sys

import pytest

from app.cli import build_parser

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def _code_lines() -> list[str]:
    """Command lines of the README's shell blocks, comments cut off."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _ssapose_lines() -> list[list[str]]:
    """``ssapose ...`` command lines of the shell blocks, as words after ``ssapose``."""
    return [shlex.split(x)[1:] for x in _code_lines() if x.startswith(".venv/bin/ssapose")]


def _inline_mentions() -> list[list[str]]:
    """``ssapose CMD --flag ...`` in the prose's inline code (often without their required arguments)."""
    return [shlex.split(span)[1:] for span in re.findall(r"`(?:\.venv/bin/)?(ssapose [a-z][^`]*)`", README)]


def _subcommands() -> set[str]:
    parser = build_parser()
    return set(parser._subparsers._group_actions[0].choices)


COMMANDS = _subcommands()


def test_the_readme_shows_commands():
    assert len(_ssapose_lines()) >= 15 and len(_inline_mentions()) >= 5 and len([x for x in _code_lines() if "training/" in x]) >= 5


@pytest.mark.parametrize("words", _ssapose_lines(), ids=lambda w: " ".join(w)[:60])
def test_ssapose_command_lines_parse(words):
    parser = build_parser()
    assert words and words[0] in COMMANDS, f"ssapose {' '.join(words)}: no such command"
    try:
        args, extra = parser.parse_known_args(words)
    except SystemExit:
        pytest.fail(f"ssapose {' '.join(words)}: the parser refuses it")
    assert not extra, f"ssapose {' '.join(words)}: unknown arguments {extra}"


def _options(parser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


@pytest.mark.parametrize("words", _inline_mentions(), ids=lambda w: " ".join(w)[:60])
def test_inline_mentions_name_real_commands_and_flags(words):
    parser = build_parser()
    assert words[0] in COMMANDS, f"the README mentions `ssapose {' '.join(words)}`: no such command"
    sub = parser._subparsers._group_actions[0].choices[words[0]]
    if len(words) > 1 and sub._subparsers is not None and not words[1].startswith("-"):
        sub = sub._subparsers._group_actions[0].choices.get(words[1], sub)
    unknown = [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in _options(sub)]
    assert not unknown, f"`ssapose {' '.join(words)}`: {words[0]} has no {unknown}"


def _script_lines() -> dict[str, set[str]]:
    """Each training script the README runs, with the flags it gives it."""
    scripts: dict[str, set[str]] = {}
    for line in _code_lines():
        words = shlex.split(line)
        path = next((w for w in words if w.endswith(".py")), None)
        if path is None:
            continue
        scripts.setdefault(path, set()).update(w.split("=")[0] for w in words[words.index(path) + 1:]
                                               if w.startswith("--"))
    return scripts


@pytest.mark.parametrize("script", sorted(_script_lines()))
def test_script_command_lines_exist(script):
    assert (ROOT / script).is_file(), f"the README runs {script}, which does not exist"
    out = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-1000:]
    missing = [f for f in _script_lines()[script] if f not in out.stdout]
    assert not missing, f"{script} has no {missing}"
