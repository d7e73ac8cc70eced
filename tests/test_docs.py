"""The docs run: every code block of the README and of ``docs/*.md`` is executed, every link between
them resolves, and the generated docs are current.

- ``yaml`` blocks whose first line is ``# <path>.yaml`` are written to that path in a temporary
  directory first (the worked example's ``worked_example.yaml``, ``my_conf/``); every ``yaml`` block
  parses, and one made of spec sections validates (over the worked example).
- ``python`` blocks run in order (the README, then the pages in ``tests.markdown.DOCS`` order) in one
  fresh interpreter, sharing their names, warnings as errors.
- ``bash`` blocks of ``confsched`` commands run through the installed console script and exit 0;
  the only other ``bash`` blocks are the README's set-up commands (install, run the tests).
- ``console`` blocks: each ``$ confsched ...`` line runs, and prints the lines shown after it
  (``...`` stands for any text). A ``console`` block without a ``$`` line is output shown for the
  block before it.
- A block that cannot run here says why in a ``<!-- not-run: ... -->`` line right before it.

``docs/spec-reference.md`` must equal what ``docs/reference.py`` renders, and ``docs/gallery/`` must
hold one PNG per step-driven family.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import confsched
from tests.conftest import WORKED_EXAMPLE, load_script, merged
from tests.markdown import DOCS, Block, doc_blocks
from tests.test_cli import CONFSCHED, confsched_cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCKS = doc_blocks()
SPEC_SECTIONS = set(confsched.Spec.model_fields) - {"continuation"}
"""Sections a YAML block validates with (over the worked example); a ``continuation`` snippet is a
fragment of the README's token-budget plan, not of the worked example."""
MOST_OPTED_OUT = 7
"""Blocks opted out with a reason; keep it small: a block that can run should."""


def _run(block: Block) -> bool:
    return block.not_run is None


CONFSCHED_BLOCKS = [
    b
    for b in BLOCKS
    if b.lang == "bash" and _run(b) and all(c.split()[0] == "confsched" for c, _ in b.commands())
]
needs_cli = pytest.mark.skipif(CONFSCHED is None, reason="the confsched console script is not installed")


def _id(block: Block) -> str:
    return block.where


def run_command(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A README command line, run through the installed console script."""
    program, *args = shlex.split(command)
    assert program == "confsched", command
    return confsched_cli(*args, cwd=cwd)


@pytest.fixture
def readme_files(tmp_path: Path) -> Path:
    """A temporary directory holding every file the README shows as a ``# <path>.yaml`` block."""
    for block in BLOCKS:
        if block.file is not None:
            target = tmp_path / block.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text)
    return tmp_path


# ---- what is run, and what is not --------------------------------------------------------------


def test_blocks_are_in_known_languages_and_few_are_opted_out():
    assert {block.lang for block in BLOCKS} <= {"python", "bash", "console", "yaml", ""}
    opted_out = [block for block in BLOCKS if not _run(block)]
    assert all(block.not_run for block in opted_out), "a not-run marker must say why"
    assert all(block.lang in ("python", "bash") for block in opted_out)
    assert len(opted_out) <= MOST_OPTED_OUT, [f"{b.line}: {b.not_run}" for b in opted_out]
    assert sum(block.lang == "python" and _run(block) for block in BLOCKS) >= 3


def test_bash_blocks_are_confsched_commands_or_the_set_up():
    others = [b for b in BLOCKS if b.lang == "bash" and _run(b) and b not in CONFSCHED_BLOCKS]
    assert len(others) == 2, [b.where for b in others]
    assert all(b.source == README for b in others)
    assert others[0].text.startswith("python3 -m venv .venv && ")  # install
    assert others[1].text == ". .venv/bin/activate && python -m pytest -q\n"  # run the tests


# ---- python and yaml ---------------------------------------------------------------------------

RUNNER = """\
import json, sys
namespace = {"__name__": "__main__"}
for source, line, text in json.load(sys.stdin):
    exec(compile("\\n" * line + text, source, "exec"), namespace)  # tracebacks show the doc's lines
"""


def test_python_blocks_run_in_order(readme_files):
    blocks = [
        (str(b.source.relative_to(ROOT)), b.line, b.text) for b in BLOCKS if b.lang == "python" and _run(b)
    ]
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", RUNNER],
        input=json.dumps(blocks),
        cwd=readme_files,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "yaml"], ids=_id)
def test_yaml_blocks_parse_and_specs_validate(block):
    data = yaml.safe_load(block.text)
    assert isinstance(data, dict)
    if set(data) <= SPEC_SECTIONS:
        confsched.validate(merged(WORKED_EXAMPLE, **data))


# ---- commands ----------------------------------------------------------------------------------


@needs_cli
@pytest.mark.parametrize("block", CONFSCHED_BLOCKS, ids=_id)
def test_confsched_commands_exit_0(block, readme_files):
    for command, comment in block.commands():
        result = run_command(command, readme_files)
        assert result.returncode == 0, f"{command}\n{result.stderr}"
        jobs = re.search(r"\b(\d+) jobs\b", comment)  # `confsched plot -m ...   # 6 jobs`
        if jobs:
            assert f"sweep of {jobs[1]} jobs in " in result.stdout, result.stdout


def _expected(block: Block) -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` for each ``$`` line of a console block."""
    shown: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            shown.append((line[2:], []))
        elif shown:
            shown[-1][1].append(line)
    return shown


def _matches(pattern: str, line: str) -> bool:
    return re.fullmatch(".*".join(map(re.escape, pattern.split("..."))), line) is not None


CONSOLE = [b for b in BLOCKS if b.lang == "console" and _expected(b)]


@needs_cli
@pytest.mark.parametrize("block", CONSOLE, ids=_id)
def test_console_blocks_print_what_they_show(block, readme_files):
    for command, expected in _expected(block):
        result = run_command(command, readme_files)
        printed = (result.stdout + result.stderr).splitlines()
        assert len(printed) == len(expected), f"$ {command}\n{result.stdout}{result.stderr}"
        for pattern, line in zip(expected, printed, strict=True):
            assert _matches(pattern, line), f"$ {command}\nexpected: {pattern}\nprinted:  {line}"


# ---- the pages and their links ----------------------------------------------------------------


def test_every_page_of_docs_is_run():
    assert set(ROOT.glob("docs/*.md")) == set(DOCS) - {README}


_LINK = re.compile(r"\]\((?!https?://)(?P<target>[^)\s]+)\)")


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings (outside code blocks)."""
    text = re.sub(r"^```.*?^```$", "", page.read_text(), flags=re.DOTALL | re.MULTILINE)
    titles = re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", t.strip().lower()).replace(" ", "-") for t in titles}


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_between_the_pages_resolve(page):
    text = re.sub(r"^```.*?^```$", "", page.read_text(), flags=re.DOTALL | re.MULTILINE)
    broken = []
    for link in _LINK.finditer(text):
        path, _, anchor = link["target"].partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists() or (anchor and target.suffix == ".md" and anchor not in _anchors(target)):
            broken.append(link["target"])
    assert not broken, broken


# ---- generated docs ----------------------------------------------------------------------------


def test_spec_reference_is_what_reference_py_renders():
    reference = load_script(ROOT / "docs" / "reference.py")
    assert reference.OUT == ROOT / "docs" / "spec-reference.md"
    assert reference.OUT.read_text() == reference.render(), "run `python docs/reference.py`"


def test_the_gallery_has_one_png_per_step_driven_family():
    step_driven = {name for name, family in confsched.FAMILIES.items() if family.driven_by == "step"}
    gallery = load_script(ROOT / "docs" / "gallery.py")
    # the ramp-up plot (LR and global batch against tokens), and docs/gallery/plots/
    assert set(gallery.EXTRAS) == {"llm_tokens_rampup", "plots"}
    pngs = {path.stem: path for path in (ROOT / "docs" / "gallery").glob("*.png")}
    assert set(pngs) == step_driven | {"llm_tokens_rampup"}, "run `python docs/gallery.py`"
    plots = {path.stem: path for path in (ROOT / "docs" / "gallery" / "plots").glob("*.png")}
    assert set(plots) == set(gallery.PLOTS), "run `python docs/gallery.py plots`"
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in [*pngs.values(), *plots.values()])
