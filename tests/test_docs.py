"""The README's Python blocks and every script in examples/ run as documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


DOC_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_readme_shows_the_python_api():
    assert python_blocks((ROOT / "README.md").read_text(encoding="utf-8")), "the README should show the Python API"


@pytest.mark.parametrize("page", [p for p in DOC_PAGES if python_blocks(p.read_text(encoding="utf-8"))],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_doc_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for block in python_blocks(page.read_text(encoding="utf-8")):
        exec(compile(block, str(page.relative_to(ROOT)), "exec"), {"__name__": "__doc__"})


def test_doc_links_resolve():
    """Every relative link in the README and docs/ points at a file that exists."""
    for page in DOC_PAGES:
        for target in re.findall(r"\]\(([^)#:]+)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def test_readme_is_a_manual():
    n_lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert n_lines <= 340, f"README.md has {n_lines} lines: move reference material into docs/"


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_examples_run(script, tmp_path):
    result = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()


def test_readme_names_every_command():
    from symbolic.cli import build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"symbolic {name}" in readme, f"README does not document 'symbolic {name}'"
    assert "make demo" in readme and "make test" in readme


def test_no_python_in_data_folders():
    for folder in ("tokenizers", "soundfonts"):
        assert (ROOT / folder).is_dir() and not list((ROOT / folder).rglob("*.py"))
