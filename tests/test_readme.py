"""The README's Python examples run, unchanged, against scripted engines (no network)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import wordgrad as tg
from wordgrad.engine import register_engine, unregister_engine
from wordgrad.llm import Request

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def plausible(request: Request) -> str:
    if request.purpose == "optimizer":
        return "<IMPROVED_VARIABLE>Reason step by step, then state the answer.</IMPROVED_VARIABLE>"
    if request.purpose == "backward":
        return "State the reasoning before the answer."
    return "A reply."


@pytest.fixture()
def provider_names() -> object:
    names = ("gpt-4o", "gpt-4o-mini")
    for name in names:
        register_engine(
            name, lambda name=name, **kw: tg.ScriptedEngine(plausible, model_string=name)
        )
    yield
    for name in names:
        unregister_engine(name)


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(
    index: int,
    provider_names: object,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write runs write them here
    exec(compile(EXAMPLES[index], f"README example {index + 1}", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out
    if "ends_with_answer" in EXAMPLES[index]:  # one's own task: the prompt got better, and
        assert "0.0 -> 1.0" in printed  # the saved prompt loads back and answers in format
        assert "Answer: 4" in printed
        assert (tmp_path / "runs" / "sums-python" / "result.json").is_file()
    elif "print(" in EXAMPLES[index]:
        assert "Reason step by step" in printed


def test_readme_first_example_is_ones_own_task() -> None:
    text = README.read_text(encoding="utf-8")
    first_section = text.index("## ", text.index("make test"))
    assert text[first_section:].startswith("## Your own task, end to end")
    assert "ends_with_answer" in EXAMPLES[0]


def test_readme_own_task_commands_run(tmp_path: Path) -> None:
    """The README's first shell block, run as written; its model names answer through the
    scripted adder of ``tests/tasks/sums_plugin.py`` (loaded with $WORDGRAD_PLUGINS)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(cat > sums\.jsonl.*?)```", text, flags=re.S)
    assert block is not None
    repo = README.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDGRAD_TEST_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        PYTHONPATH=str(repo),
        WORDGRAD_PLUGINS="tests.tasks.sums_plugin",
        WORDGRAD_CACHE_DIR=str(tmp_path / "cache"),
        WORDGRAD_OFFLINE="1",
    )
    done = subprocess.run(
        ["bash", "-e", "-c", block.group(1)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "--- final system_prompt:" in out  # printed at the end of the optimize command
    assert "validation accuracy after:  1.000" in out
    assert "sums val accuracy: 1.000" in out or "val accuracy: 1.000" in out
    assert "status: completed" in out and "estimated cost $" in out
    assert (tmp_path / "runs" / "sums" / "report.html").is_file()
    assert (tmp_path / "runs" / "sums" / "requests.jsonl").is_file()
