"""The README stays true: its Python examples run, its commands exist, and CI
runs exactly its test command."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = pathlib.Path(ROOT, "README.md").read_text()


def test_python_examples_run():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 2  # the rest moved to the site: docs/guides/*.md, run by tests/test_docs.py
    scope: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), scope)


def test_readme_numbers():
    import numpy as np

    import lossbridge as lb

    y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    assert float(lb.keras.CategoricalCrossentropy()(y_true, y_pred)) == pytest.approx(1.1769392, rel=1e-7)
    assert float(lb.torch.CrossEntropyLoss()(np.log(y_pred + 1e-30), np.array([1, 2]))) == pytest.approx(1.1769392, rel=1e-7)
    assert float(lb.torch.CrossEntropyLoss()(y_pred, np.array([1, 2]))) == pytest.approx(0.986895, rel=1e-6)
    assert float(lb.keras.SparseCategoricalCrossentropy(ignore_class=2)(np.array([1, 2]), y_pred)) == pytest.approx(0.0512933, rel=1e-6)
    assert float(lb.torch.functional.binary_cross_entropy(np.array([0.0]), np.array([1.0]))) == 100.0
    np.testing.assert_allclose(lb.theano.categorical_crossentropy(y_pred, np.array([1, 2])), [0.0512933, 2.3025851], rtol=1e-6)


def test_ci_runs_the_readme_test_command():
    ci = pathlib.Path(ROOT, ".ci", "run").read_text()
    assert "<!-- test-command -->" in ci and "README.md" in ci
    (block,) = re.findall(r"<!-- test-command -->\n```bash\n(.*?)\n```\n<!-- /test-command -->", README, re.S)
    assert "pytest" in block and "-c constraints.txt" in block


def test_the_compare_command_runs():
    out = subprocess.run([sys.executable, "-m", "lossbridge", "compare"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "why it differs" in out.stdout and "0.986895" in out.stdout


def test_constraints_pin_the_cpu_torch():
    text = pathlib.Path(ROOT, "constraints.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", text, re.M)


def _console_blocks() -> list[str]:
    return [b for b in re.findall(r"```console\n(.*?)```", README, re.S) if "$ lossbridge" in b]


def test_console_output_is_what_the_commands_print(tmp_path):
    """Each ```console block runs its `$` commands in a fresh directory; the text after the last
    command is the real output (segments between `[...]` lines must appear in order)."""
    import shlex

    pytest.importorskip("rich")
    blocks = _console_blocks()
    assert len(blocks) >= 1  # compare/explain outputs are also generated on the site (docs/why.md.in)
    env = {**os.environ, "COLUMNS": "140", "PYTHONPATH": os.path.join(ROOT, "src")}
    for i, block in enumerate(blocks):
        cwd = tmp_path / f"block{i}"
        cwd.mkdir()
        lines = block.splitlines()
        commands = [j for j, line in enumerate(lines) if line.startswith("$ ")]
        for j in commands:
            argv = shlex.split(lines[j][2:])
            argv = [sys.executable, "-m", "lossbridge", *argv[1:]] if argv[0] == "lossbridge" else [sys.executable, *argv[1:]]
            out = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env)
            assert out.returncode == 0, (lines[j], out.stderr)
        actual = [line.rstrip() for line in out.stdout.splitlines()]
        expected = [line.rstrip() for line in lines[commands[-1] + 1:]]
        segments, current = [], []
        for line in expected:
            if line == "[...]":
                segments.append(current)
                current = []
            else:
                current.append(line)
        segments.append(current)
        position = 0
        for segment in segments:
            if not segment:
                continue
            for start in range(position, len(actual) - len(segment) + 1):
                if actual[start:start + len(segment)] == segment:
                    position = start + len(segment)
                    break
            else:
                raise AssertionError(f"README console block {i}: not in the real output:\n" + "\n".join(segment)
                                     + "\n--- real output ---\n" + "\n".join(actual))
