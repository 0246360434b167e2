"""Every ```python block of README.md and doc/*.md runs as written.

Each block runs in a fresh `python` subprocess from the repository root (as a
reader pastes it into a new file). Marking rules, checked here too:

* every fenced block names its language: ```python (run), ```sh (shell
  commands, not run), ```text (output, equations, layouts; not run);
* a ```python block that is a fragment (it needs something the reader
  supplies, e.g. a PyTorch model) starts with the line `# not run: <reason>`;
* Python in an indented (unfenced) code block is an error: fence it.
"""

import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import own_world_subprocess_tf1_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LANGUAGES = ("python", "sh", "text")
NOT_RUN = re.compile(r"# not run: \S")
FENCE = re.compile(r"^(\s*)```(.*)$")


def _markdown_files():
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "doc", "*.md")))


def code_blocks(path):
    """`[(line, language, code)]` of the fenced blocks of a markdown file (1-based
    line of the opening fence)."""
    blocks, current = [], None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fence = FENCE.match(line.rstrip("\n"))
            if current is None and fence:
                current = (number, fence.group(2).strip(), len(fence.group(1)), [])
            elif current is not None and fence and not fence.group(2).strip():
                start, language, indent, lines = current
                blocks.append((start, language, "".join(l[indent:] for l in lines)))
                current = None
            elif current is not None:
                current[3].append(line)
    assert current is None, f"{path}:{current[0]}: code block never closed"
    return blocks


def _where(path, line):
    return f"{os.path.relpath(path, ROOT)}:{line}"


def _python_blocks():
    return [pytest.param(path, line, code, id=_where(path, line))
            for path in _markdown_files() for line, language, code in code_blocks(path)
            if language == "python" and not NOT_RUN.match(code)]


def test_every_block_is_marked():
    problems = []
    for path in _markdown_files():
        for line, language, code in code_blocks(path):
            if language not in LANGUAGES:
                problems.append(f"{_where(path, line)}: fence language {language!r}; use one of "
                                f"{LANGUAGES} (only python blocks run)")
            elif language == "python" and code.startswith("# not run") and not NOT_RUN.match(code):
                problems.append(f"{_where(path, line)}: '# not run:' needs a reason after it")
        in_fence = False
        with open(path, encoding="utf-8") as f:
            for number, text in enumerate(f, 1):
                if FENCE.match(text.rstrip("\n")):
                    in_fence = not in_fence
                elif not in_fence and re.match(r"^ {4,}(import \w|from [\w.]+ import )", text):
                    problems.append(f"{_where(path, number)}: Python in an indented code "
                                    "block; fence it as ```python so that it is run")
    assert not problems, "\n".join(problems)


def test_the_block_parser_on_a_sample(tmp_path):
    sample = tmp_path / "x.md"
    sample.write_text("text\n```python\nprint(1)\n```\n\n* item\n\n  ```sh\n  make\n  ```\n"
                      "```python\n# not run: needs torch\nimport torch\n```\n")
    assert code_blocks(str(sample)) == [(2, "python", "print(1)\n"), (8, "sh", "make\n"),
                                        (11, "python", "# not run: needs torch\nimport torch\n")]


@own_world_subprocess_tf1_run
@pytest.mark.parametrize("path,line,code", _python_blocks())
def test_python_block_runs_as_written(path, line, code):
    # As a reader runs it: a plain `python` (the suite's world switch removed).
    env = {k: v for k, v in os.environ.items() if k != "AWDRNN_TF1"}
    env.update(PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, (f"{_where(path, line)} fails as written:\n"
                                    f"{result.stderr[-3000:]}")
