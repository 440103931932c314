"""grade/handout.py: the rules that turn this answer into the course template (``make handout``).

What the generated handout must be (the template, name for name; no answer in it; its notebook
stopping at the first TODO) is tested in test_template.py; here, each rule on small inputs.
"""

import json
import re

import pytest

from grade.handout import HandoutError, handout_notebook, handout_source, restore_mistakes, strip_regions


def test_solution_regions_become_todo_stubs_named_after_their_method():
    src = ["class A:", "    def __init__(self):", "        x = 1", "        # BEGIN SOLUTION (init)",
           "        self.w = 2", "        # END SOLUTION", "    def f(self):", '        """Doc."""',
           "        # BEGIN SOLUTION", "        return 1", "", "        # END SOLUTION", "    y = 3"]
    assert strip_regions(src) == ["class A:", "    def __init__(self):", "        x = 1", "        pass  # TODO",
                                  "    def f(self):", '        """Doc."""',
                                  '        raise NotImplementedError("TODO: f")', "    y = 3"]


def test_a_region_with_template_lines_becomes_those_lines():
    src = ["        # BEGIN SOLUTION", "        # TEMPLATE: self.loss = BCE()", "        # why it changes",
           "        self.loss = CrossEntropy()", "        # END SOLUTION"]
    assert strip_regions(src) == ["        self.loss = BCE()"]
    answer_only = ["x = f(a,", "      # BEGIN ANSWER ONLY", "      fast=True,", "      # END ANSWER ONLY", "      )"]
    assert strip_regions(answer_only) == ["x = f(a,", "      )"]
    signature = ["    # BEGIN ANSWER ONLY", "    # TEMPLATE: def g(self):", "    def g(self, extra=1):",
                 "    # END ANSWER ONLY"]
    assert strip_regions(signature) == ["    def g(self):"]


@pytest.mark.parametrize("lines, error", [
    (["    # BEGIN SOLUTION", "    x = 1"], "never closed"),
    (["    x = 1", "    # END SOLUTION"], "without a '# BEGIN"),
    (["    # BEGIN SOLUTION", "  # END SOLUTION"], "same words and indentation"),
    (["    # BEGIN SOLUTION", "    # END ANSWER ONLY"], "same words and indentation"),
    (["# BEGIN SOLUTION", "# BEGIN ANSWER ONLY", "# END ANSWER ONLY", "# END SOLUTION"], "inside the region"),
])
def test_broken_regions_are_refused_with_their_line(lines, error):
    with pytest.raises(HandoutError, match=re.escape(error)):
        strip_regions(lines, "f.py")


def test_mistakes_come_back_as_the_template_wrote_them():
    src = ["        # Mistake 1: why.", "        # for i in range(0, n):", "        # Repair 1:",
           "        self.add(Input())", "        for i in range(1, n):", "        # End of repair 1.",
           "            pass", "        # Mistake 2 (continued): why.", "        # loss = Bad()",
           "        # Repair 2 (continued):", "        loss = Good()", "        # End of repair 2 (continued).", "z"]
    assert restore_mistakes(src) == ["        for i in range(0, n):", "            pass", "        loss = Bad()", "z"]
    with pytest.raises(HandoutError, match="Repair 1:' is never closed"):
        restore_mistakes(src[:5])
    with pytest.raises(HandoutError, match="commented out"):
        restore_mistakes(["    # Mistake 3: why.", "    loss = Bad()", "    # Repair 3:"])


def test_left_over_blank_lines_are_tidied():
    text = "a = 1\n# BEGIN ANSWER ONLY\nb = 2\n# END ANSWER ONLY\n\n\n\nc = 3\n"
    assert handout_source(text) == "a = 1\n\n\nc = 3\n"


def test_notebook_answer_cells_go_team_is_blanked_outputs_cleared():
    nb = {"metadata": {"papermill": {"duration": 1}}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {"tags": ["team"]}, "outputs": [],
         "source": "# Team 7: Ada Lovelace 123"},
        {"cell_type": "markdown", "metadata": {"tags": ["answer-only"]}, "source": "the mistakes, repaired"},
        {"cell_type": "code", "execution_count": 3, "metadata": {"papermill": {}}, "outputs": [{"output_type": "stream"}],
         "source": ["plt.figure()\n", "# BEGIN SOLUTION\n", "plt.plot(h['accuracy'])\n", "# END SOLUTION"]}]}
    out = handout_notebook(nb)
    # ... and the students' last check cell (the documents) is added at the end (tests/test_public.py)
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "code", "code", "markdown", "code"]
    assert "Ada" not in out["cells"][1]["source"] and "Team number" in out["cells"][1]["source"]
    code = out["cells"][2]
    assert code["outputs"] == [] and code["execution_count"] is None and code["metadata"] == {}
    assert code["source"] == 'plt.figure()\nraise NotImplementedError("TODO")'
    assert "papermill" not in out["metadata"] and nb["cells"][3]["outputs"]  # the input is left alone
    assert json.dumps(out)  # still a JSON notebook


def test_the_handout_notebook_is_valid_with_unique_cell_ids():
    """The cells the handout adds (the check cells, "Before you submit") carry ids, as nbformat 4.5
    asks: Jupyter would otherwise warn, and later refuse, the students' notebook."""
    import warnings
    from pathlib import Path

    import nbformat

    answer = json.loads((Path(__file__).resolve().parents[1] / "MNIST_classification.ipynb").read_text())
    out = handout_notebook(answer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbformat.validate(nbformat.from_dict(out))
    ids = [c.get("id") for c in out["cells"]]
    assert None not in ids and len(set(ids)) == len(ids)


def test_the_handouts_own_gitignore_and_readme_say_what_the_grader_holds(tmp_path):
    """The handout's .gitignore is its own (what Python, Jupyter and check.py write), not this repository's; its
    README names what the problem set asks to change, in agreement with the grader (torch.loss.bce_kept earns 0)."""
    from pathlib import Path

    from grade.handout import build_handout
    from grade.handout_checks import RESULTS
    from grade.items import load_table

    root = Path(__file__).resolve().parents[1]
    out = build_handout(root, tmp_path / "handout")
    ignored = (out / ".gitignore").read_text().splitlines()
    assert {"__pycache__/", ".ipynb_checkpoints/", RESULTS} <= set(ignored)
    assert not [line for line in ignored if "theory" in line or "submissions" in line or "roster" in line]
    readme = " ".join((out / "README.md").read_text().split())
    assert load_table()[1]["torch.loss.bce_kept"][0] == 0
    assert "the given `BCEWithLogitsLoss` (binary cross-entropy) is one of the things to change" in readme
    assert "`NeuralNetworkTf` has three mistakes" in readme
    assert "The settings in its parameter cell (learning rates, batch size, epochs) are yours to choose" in readme
    assert "Please do not change anything else in the given code (" in readme
