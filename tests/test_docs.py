"""The docs build without a warning, and every Python snippet a reader would copy runs.

`mkdocs build --strict` fails on any warning: a broken link or anchor, a missing page, a docstring
the API reference cannot read. The snippets are the ```python blocks of README.md and docs/**/*.md;
a block preceded by `<!-- not run: REASON -->` is skipped and must give its reason. The runnable
ones run in one child process (TensorFlow is imported once), each in a fresh namespace and its own
empty folder, where `saved_models` links to the repository's shipped exports.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from background import CHILD_THREADS
from conftest import REPO_ROOT

#: ```python blocks, with the line before them (where a "not run" note goes).
_BLOCK = re.compile(r"(?:^(?P<before>[^\n]*)\n)?^```python\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)
_NOT_RUN = re.compile(r"<!-- not run: (?P<reason>\S.*?) -->")


def _markdown_files():
    files = [os.path.join(REPO_ROOT, "README.md")]
    files += sorted(glob.glob(os.path.join(REPO_ROOT, "docs", "**", "*.md"), recursive=True))
    return files


def _snippets():
    """[(where, code, reason or None)] of every ```python block of README.md and docs/."""
    found = []
    for path in _markdown_files():
        text = open(path, encoding="utf-8").read()
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start("code"))
            note = _NOT_RUN.search(match.group("before") or "")
            where = f"{os.path.relpath(path, REPO_ROOT)}:{line}"
            found.append((where, match.group("code"), note.group("reason") if note else None))
    return found


def test_docs_have_snippets_and_every_skip_has_a_reason():
    snippets = _snippets()
    assert len([s for s in snippets if s[2] is None]) >= 5, snippets
    for where, _, reason in snippets:
        assert reason is None or len(reason) > 10, f"{where}: a 'not run' note must say why"


_RUNNER = r"""
import json, os, sys, tempfile, traceback
snippets, saved_models = json.load(open(sys.argv[1]))
failures = []
for where, code in snippets:
    folder = tempfile.mkdtemp(prefix="snippet_")
    os.symlink(saved_models, os.path.join(folder, "saved_models"))
    os.chdir(folder)
    try:
        exec(compile(code, where, "exec"), {"__name__": "__main__"})
    except BaseException:
        failures.append(where + "\n" + traceback.format_exc())
print(json.dumps(failures))
"""


def test_python_snippets_run(tmp_path):
    """Every runnable snippet runs (a renamed function breaks this test, not a reader)."""
    runnable = [(where, code) for where, code, reason in _snippets() if reason is None]
    spec = tmp_path / "snippets.json"
    spec.write_text(json.dumps([runnable, os.path.join(REPO_ROOT, "saved_models")]))
    runner = tmp_path / "runner.py"
    runner.write_text(_RUNNER)
    env = {**os.environ, **CHILD_THREADS, "TF_CPP_MIN_LOG_LEVEL": "3", "TFGEN_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [REPO_ROOT, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run([sys.executable, str(runner), str(spec)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert not failures, "\n\n".join(failures)


def test_mkdocs_build_strict(tmp_path):
    """`mkdocs build --strict` passes: no broken link, anchor, page or docstring."""
    if shutil.which("mkdocs") is None:
        pytest.skip("mkdocs is not installed: pip install -e '.[test]' (or '.[docs]') installs it")
    result = subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert result.returncode == 0 and not warnings, result.stderr[-4000:]
    assert (tmp_path / "site" / "models" / "cvae" / "index.html").is_file()
