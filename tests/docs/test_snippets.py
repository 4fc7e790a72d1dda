"""The documentation runs: every ```python block of README.md and docs/*.md is executed, in order and in one
namespace per page (a block that raises, or whose own assertions fail, fails the page); where a ```text block
follows a Python block it shows what that block prints (numbers within 0.05: another CPU may round a
training run differently); and every `privrobust COMMAND ...` command line quoted in them is accepted by that
command's argument parser."""
import re
import shlex
from pathlib import Path

import pytest

from privrobust import cli

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
INLINE = re.compile(r"(?<!`)`(privrobust [^`]+)`(?!`)")
NUMBER = re.compile(r"-?\d+\.?\d*(?:e-?\d+)?")
SHELLS = ("", "sh", "shell", "console", "bash")


def fenced(text: str) -> tuple[list[tuple[str, str, str]], str]:
    """The fenced blocks of a Markdown text as (language, content, the block right after it when only blank
    lines separate them, else ""), and the text outside them."""
    blocks, outside, lines = [], [], text.splitlines(keepends=True)
    i, gap_after = 0, {}
    while i < len(lines):
        if lines[i].startswith("```"):
            lang, start = lines[i][3:].strip(), i + 1
            i = start
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            blocks.append((lang, "".join(lines[start:i])))
            gap = i + 1
            while gap < len(lines) and not lines[gap].strip():
                gap += 1
            gap_after[len(blocks) - 1] = gap < len(lines) and lines[gap].startswith("```")
        else:
            outside.append(lines[i])
        i += 1
    return ([(lang, body, blocks[k + 1][1] if gap_after[k] and k + 1 < len(blocks) and blocks[k + 1][0] == "text"
              else "") for k, (lang, body) in enumerate(blocks)], "".join(outside))


def command_lines(text: str) -> list[str]:
    """privrobust command lines: inline code spans outside blocks (may wrap; usage synopses with [--option]
    are not command lines) and lines of shell blocks (after && too)."""
    blocks, outside = fenced(text)
    lines = [" ".join(span.split()) for span in INLINE.findall(outside) if "[-" not in span]
    for lang, body, _ in blocks:
        if lang in SHELLS:
            for line in body.splitlines():
                for part in line.split("&&"):
                    part = part.split("#")[0].strip()
                    if part.startswith("privrobust "):
                        lines.append(part)
    return lines


def python_blocks(page: Path) -> list[tuple[str, str]]:
    return [(body, shown) for lang, body, shown in fenced(page.read_text(encoding="utf-8"))[0] if lang == "python"]


WITH_PYTHON = [page for page in PAGES if python_blocks(page)]


def same_output(printed: str, shown: str) -> bool:
    """Equal text, numbers within 0.05."""
    if NUMBER.sub("#", printed.strip()) != NUMBER.sub("#", shown.strip()):
        return False
    return all(abs(float(a) - float(b)) <= 0.05 for a, b in zip(NUMBER.findall(printed), NUMBER.findall(shown)))


def test_the_readme_and_the_tour_have_python_to_run():
    assert {"README.md", "tour.md"} <= {page.name for page in WITH_PYTHON}


@pytest.mark.parametrize("page", WITH_PYTHON, ids=lambda p: p.name)
def test_python_blocks_run_and_print_what_the_page_shows(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a snippet that writes files writes them here
    namespace = {"__name__": f"snippets_{page.stem}"}
    for i, (block, shown) in enumerate(python_blocks(page)):
        capsys.readouterr()
        exec(compile(block, f"{page.name}[python block {i + 1}]", "exec"), namespace)
        printed = capsys.readouterr().out
        if shown:
            assert same_output(printed, shown), f"{page.name} block {i + 1} prints\n{printed}instead of\n{shown}"


def test_output_comparison_tolerates_rounding_only():
    assert same_output("acc 0.89, eps <= 3.000\n", "acc 0.91, eps <= 3.000")
    assert not same_output("acc 0.80", "acc 0.89") and not same_output("holds", "violated")
    assert not same_output("a 1 2", "a 1")


def test_every_quoted_command_line_parses():
    seen = 0
    for page in PAGES:
        for line in command_lines(page.read_text(encoding="utf-8")):
            argv = shlex.split(line)[1:]
            assert argv and argv[0] in cli.COMMANDS, f"{page.name}: unknown command in {line!r}"
            try:
                cli.build_parser(argv[0]).parse_args(argv)
            except SystemExit as exit_:
                pytest.fail(f"{page.name}: {line!r} is rejected by the parser (exit {exit_.code})")
            seen += 1
    assert seen >= 5  # the README's quick start and the tour quote at least this many


def test_blocks_outputs_and_command_lines_are_found():
    text = ("run `privrobust account --steps\n 10` or `privrobust verify NET [--json]` then\n"
            "```sh\npip install x && privrobust radius --eps 1  # c\n```\n"
            "```python\nx = '`privrobust not-this`'\nprint(1)\n```\n\n```text\n1\n```\n```python\npass\n```\n")
    assert command_lines(text) == ["privrobust account --steps 10", "privrobust radius --eps 1"]
    blocks = [(lang, shown) for lang, _, shown in fenced(text)[0]]
    assert blocks == [("sh", ""), ("python", "1\n"), ("text", ""), ("python", "")]
