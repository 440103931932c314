"""The notebook items on notebooks as students write them, as a hostile submission writes them, and as typed in.

Fast: each notebook is written to a folder, read as grade/observe/docs.py reads it (the notebook read,
never run) and judged with the grader's registry; no sandbox, no training.

* Whatever the file holds (deep nesting, fields of odd types, cells that are not objects, huge
  strings, bytes that are not UTF-8, a folder, a FIFO or a link named like the notebook), the
  reading does not raise: every notebook item fails with a message naming the file and the problem.
* Outputs typed in by hand cost more than running the notebook: each tell (execution counts out
  of order or repeated, progress lines whose epochs skip or whose numbers cannot be accuracies,
  images too small to be a plot) loses its own item, and a notebook with all of them loses all
  three; this answer's notebook and the 2023 fixture teams keep every point.
* The team's details are found in the forms students write them (labelled by hand below).
"""

import base64
import copy
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from PIL import Image

from grade.items import registry
from grade.judge import docs, notebook
from grade.judge.common import Observations
from grade.observations import judge_part
from grade_fixtures.documents import observed, records
from grade_fixtures.real_work import notebook_2023

ROOT = Path(__file__).resolve().parents[1]
ITEMS, JUDGEMENT = registry()
NOTEBOOK_ITEMS = sorted(i for i in ITEMS if i.startswith("notebook."))


def graded(folder):
    obs = observed(folder)
    return judge_part("docs", obs, ITEMS, JUDGEMENT)


def write(folder, nb):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / notebook.NOTEBOOK
    path.write_bytes(nb if isinstance(nb, bytes) else json.dumps(nb).encode())
    return folder


def points(verdicts):
    return {i: v.fraction for i, v in verdicts.items() if i.startswith("notebook.")}


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(text, count=None, outputs=()):
    return {"cell_type": "code", "metadata": {}, "source": text, "execution_count": count, "outputs": list(outputs)}


def png(width, height):
    """A real PNG of the given size, from Pillow (the reference for the sizes the grader reads)."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def image(width, height):
    return {"output_type": "display_data", "metadata": {}, "data": {"image/png": png(width, height),
                                                                     "text/plain": "<Figure>"}}


# --------------------------------------------------------------------------- anything in the file
NESTED = b"[" * 100_000 + b"]" * 100_000
CELL = {"cell_type": "code", "metadata": {}, "source": "x = 1", "execution_count": 1, "outputs": []}


def with_cell(**fields):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{**CELL, **fields}]}


UNREADABLE = {  # name -> (file content, or a function making the file; the problem the message names)
    "nested_brackets": (NESTED, r"nested too deeply"),
    "nested_in_a_cell": (b'{"cells": [' + NESTED + b"]}", r"nested too deeply"),
    "data_is_a_list": (with_cell(outputs=[{"output_type": "execute_result", "data": ["text/plain"], "metadata": {},
                                           "execution_count": 1}]),
                       r"cell 1, output 1: 'data' is a list, expected an object of MIME types"),
    "source_is_a_number": (with_cell(source=5), r"cell 1: 'source' is a number, expected text"),
    "source_holds_numbers": (with_cell(source=["a", 2]), r"cell 1: 'source' is a list holding a number"),
    "outputs_is_an_object": (with_cell(outputs={"a": 1}), r"cell 1: 'outputs' is an object, expected a list"),
    "count_is_text": (with_cell(execution_count="3"), r"""cell 1: 'execution_count' is "3", expected a number"""),
    "count_is_true": (with_cell(execution_count=True), r"cell 1: 'execution_count' is true"),
    "stream_text_is_a_number": (with_cell(outputs=[{"output_type": "stream", "name": "stdout", "text": 12}]),
                                r"cell 1, output 1: 'text' is a number"),
    "ename_is_an_object": (with_cell(outputs=[{"output_type": "error", "ename": {"x": 1}, "evalue": "",
                                               "traceback": []}]), r"cell 1, output 1: 'ename' is an object"),
    "image_is_a_number": (with_cell(outputs=[{"output_type": "display_data", "metadata": {},
                                              "data": {"image/png": 7}}]), r"'data.image/png' is a number"),
    "cell_is_text": ({"cells": ["print(1)", 3]}, r"cell 1 is text, expected an object"),
    "output_is_a_list": (with_cell(outputs=[["stream"]]), r"cell 1, output 1 is a list, expected an object"),
    "unknown_output_type": (with_cell(outputs=[{"output_type": "stream\r**x**"}]), r"'output_type' is "),
    "unknown_cell_type": (with_cell(cell_type="python"), r"""'cell_type' is "python", expected one of"""),
    "cells_is_an_object": ({"cells": {"0": CELL}}, r"'cells' is an object, expected a list of cells"),
    "nbformat_3": ({"worksheets": [{"cells": []}], "nbformat": 3}, r"there is no 'cells' list \(nbformat 4"),
    "a_list": ([CELL], r"the file holds a list, expected a notebook"),
    "not_json": (b'{"cells": [', r"it is not valid JSON \(Expecting"),
    "not_utf8": (b'{"cells": [{"cell_type": "markdown", "source": "Gr\xfc\xdfe"}]}',
                 r"it is not UTF-8 text \(byte 0xfc at offset 50\)"),
    "utf16": ('{"cells": []}'.encode("utf-16"), r"it is not UTF-8 text"),
    "too_many_values": (b"[" + b"0," * 5_000_001 + b"0]", r"it holds more than 5,000,000 JSON values"),
    "a_folder": (lambda p: p.mkdir(), r"`MNIST_classification\.ipynb` is a folder, not a notebook file"),
    "a_fifo": (lambda p: os.mkfifo(p), r"is a special file \(a FIFO\), not a notebook file"),
    "a_link_to_a_fifo": (lambda p: (os.mkfifo(p.with_name("pipe")), p.symlink_to("pipe")), r"special file \(a FIFO\)"),
    "a_link_loop": (lambda p: p.symlink_to(p.name), r"`MNIST_classification\.ipynb` cannot be read as a notebook: "),
    "a_link_outside": (lambda p: p.symlink_to("/dev/zero"), r"a link to a file outside the submission"),
    "missing": (lambda p: None, r"`MNIST_classification\.ipynb` is missing from the submission"),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(UNREADABLE))
def test_any_file_gives_every_notebook_item_a_failing_verdict_naming_the_file_and_the_problem(tmp_path, name):
    content, problem = UNREADABLE[name]
    folder = tmp_path / "team"
    folder.mkdir()
    if callable(content):
        content(folder / notebook.NOTEBOOK)
    else:
        write(folder, content)
    verdicts = graded(folder)
    assert verdicts["theory.pdf"].fraction == 1  # the other item of the part is judged as usual
    for item in NOTEBOOK_ITEMS:
        message = verdicts[item].message
        assert verdicts[item].fraction == 0, (item, message)
        assert "MNIST_classification.ipynb" in message and "could not judge" not in message, message
        assert re.search(problem, message), (item, message)


def test_huge_strings_are_read_capped(tmp_path):
    huge = "Aa-" * 5_000_000  # 15 MB in one line of one cell, again in another, and in one output
    nb = {"cells": [md(huge), code(huge, 1, [{"output_type": "stream", "name": "stdout", "text": "Epoch: 1 " + huge}])]}
    verdicts = graded(write(tmp_path / "team", nb))
    cells = notebook.read_notebook(tmp_path / "team")["cells"]
    assert len(cells[0]["source"]) == notebook.SOURCE_CHARS and len(cells[1]["outputs"][0]["text"]) == notebook.OUTPUT_CHARS
    assert verdicts["notebook.team"].fraction == 0 and verdicts["notebook.executed"].fraction == 1


def test_a_notebook_too_large_is_refused_with_its_size(tmp_path, monkeypatch):
    write(tmp_path / "team", notebook_2023())
    monkeypatch.setattr(notebook, "NOTEBOOK_MAX_BYTES", 1000)
    message = graded(tmp_path / "team")["notebook.progress"].message
    assert re.search(r"`MNIST_classification\.ipynb` is \d+ KB, more than the 1 KB the grader reads", message), message


# --------------------------------------------------------------------------- typed-in outputs
def typed_in():
    """A notebook never run, written by hand: invented execution counts, progress lines, three 1-pixel images."""
    fake = "".join(f"Epoch: {e}, Training Accuracy: {40 + e}%, Validation Accuracy: {38 + e}%\n"
                   for e in (1, 2, 3, 10, 20, 50))
    keras = "Epoch 1/50\naccuracy: 0.41 - val_accuracy: 0.40\nEpoch 2/50\naccuracy: 0.5 - val_accuracy: 0.48\n" \
            "Epoch 50/50\naccuracy: 0.93 - val_accuracy: 0.90\n"
    pixel = image(1, 1)
    return {"cells": [md("# Problem set 1"), md("Team 5\n\n- Ada Lovelace, 225984\n- Alan Turing, 225985"),
                      code("import numpy as np", 1),
                      code("history = nn.fit(x_train, y_train, x_val, y_val)", 3, [{"output_type": "stream",
                                                                                     "name": "stdout", "text": fake}]),
                      code("plt.plot(history['accuracy'])", 3, [pixel]),
                      code("history = torch_nn.fit(train_loader, val_loader)", 4, [{"output_type": "stream",
                                                                                     "name": "stdout", "text": fake}]),
                      code("plt.plot(history['accuracy'])", 6, [pixel]),
                      code("history = tf_nn.compile_and_fit(x, y)", 5, [{"output_type": "stream", "name": "stdout",
                                                                          "text": keras}]),
                      code("plt.plot(history.history['accuracy'])", 7, [pixel])]}


def test_a_notebook_typed_in_by_hand_gets_no_output_points(tmp_path):
    verdicts = graded(write(tmp_path / "team", typed_in()))
    assert points(verdicts) == {"notebook.executed": 0, "notebook.plots": 0, "notebook.progress": 0,
                                "notebook.team": 1}, {i: v.message for i, v in verdicts.items()}
    assert "In [3] after In [3]" in verdicts["notebook.executed"].message
    assert "epoch 3 is followed by epoch 10" in verdicts["notebook.progress"].message
    assert "epoch 2 is followed by epoch 50" in verdicts["notebook.progress"].message
    assert "3 image(s) too small to be a plot (1x1, 1x1, 1x1 pixels" in verdicts["notebook.plots"].message


def test_this_answers_notebook_and_the_2023_teams_keep_every_notebook_point(tmp_path):
    shutil.copy(ROOT / notebook.NOTEBOOK, tmp_path)
    for folder in (tmp_path, write(tmp_path / "team_2023", notebook_2023())):
        verdicts = graded(folder)
        assert set(points(verdicts).values()) == {1.0}, {i: v.message for i, v in verdicts.items()}
    assert "4 plot(s)" in graded(tmp_path)["notebook.plots"].message  # the digits and the confusion matrix: not


def edited(change):
    nb = copy.deepcopy(notebook_2023())
    change([c for c in nb["cells"] if c["cell_type"] == "code"])
    return nb


def _swap_counts(cells):
    cells[4]["execution_count"], cells[5]["execution_count"] = cells[5]["execution_count"], cells[4]["execution_count"]


def _epochs_skip(cells):
    cells[4]["outputs"][0]["text"] = cells[4]["outputs"][0]["text"].replace("Epoch: 3,", "Epoch: 4,", 1)


def _late_start(cells):
    lines = cells[4]["outputs"][0]["text"].splitlines(keepends=True)
    cells[4]["outputs"][0]["text"] = "".join(lines[47:])


def _no_validation(cells):
    cells[2]["outputs"][0]["text"] = cells[2]["outputs"][0]["text"].replace(", Validation Accuracy: 30.00%", "")


TELLS = {  # one tell on the 2023 team's notebook -> (the item it costs and the fraction kept, the message)
    "counts_out_of_order": (_swap_counts, {"notebook.executed": 0}, r"code cell 6 has In \[9\] after In \[10\]"),
    "count_repeated": (lambda c: c[3].update(execution_count=5), {"notebook.executed": 0},
                       r"code cell 4 has In \[5\] after In \[5\] in code cell 3"),
    "result_of_another_run": (lambda c: c[0]["outputs"].append({"output_type": "execute_result", "metadata": {},
                                                                 "execution_count": 7, "data": {"text/plain": "1"}}),
                              {"notebook.executed": 0}, r"code cell 1 is In \[1\] but its result says Out\[7\]"),
    "epochs_skip": (_epochs_skip, {"notebook.progress": 2 / 3}, r"code cell 5: epoch 2 is followed by epoch 4"),
    "late_start": (_late_start, {"notebook.progress": 2 / 3}, r"code cell 5: it starts at epoch 48"),
    "no_validation": (_no_validation, {"notebook.progress": 2 / 3}, r"code cell 3: epoch 5 shows no validation"),
    "not_an_accuracy": (lambda c: c[2]["outputs"][0].update(text=c[2]["outputs"][0]["text"].replace("35.00%", "135.00%")),
                        {"notebook.progress": 2 / 3}, r"epoch 5 shows the accuracy 135, which no accuracy can be"),
    "time_goes_down": (lambda c: c[4]["outputs"][0].update(text=c[4]["outputs"][0]["text"].replace("3.30s", "0.30s")),
                       {"notebook.progress": 2 / 3}, r"goes down from 2\.2 s to 0\.3 s at epoch 3"),
    "tiny_images": (lambda c: [cell["outputs"].__setitem__(0, image(12, 9)) for cell in c[3::2]],
                    {"notebook.plots": 0}, r"3 image\(s\) too small to be a plot \(12x9"),
    "digits_not_a_plot": (lambda c: c[7].update(source="'''TODO: plot accuracy on train and validation set over "
                                                       "epochs'''\nplt.imshow(x_train[0].reshape(28, 28), cmap='gray')"),
                          {"notebook.plots": 2 / 3}, r"1 image\(s\) of cells that draw no training history \(or draw "
                                                     r"images, e\.g\. digits with imshow\)"),
}


@pytest.mark.parametrize("name", list(TELLS))
def test_each_tell_of_typed_in_outputs_costs_its_own_item(tmp_path, name):
    change, lost, pattern = TELLS[name]
    verdicts = graded(write(tmp_path / "team", edited(change)))
    expected = {i: lost.get(i, 1.0) for i in NOTEBOOK_ITEMS}
    assert points(verdicts) == pytest.approx(expected), {i: v.message for i, v in verdicts.items()}
    item = next(iter(lost))
    assert re.search(pattern, verdicts[item].message), verdicts[item].message


def test_plots_drawn_by_the_notebooks_own_functions_are_told_apart(tmp_path):
    def change(cells):
        cells[1]["source"] = "def show_curves(h):\n    plt.plot(h['accuracy'])\n    plt.plot(h['val_accuracy'])\n" \
                             "\n\ndef show_digits(x):\n    plt.imshow(x[0])\n\nshow_curves(history)"
        cells[3]["source"] = "show_curves(hist_b)"  # no keyword in the call itself: the function draws the curves
        cells[5]["source"] = "show_digits(x_val)"
    verdicts = graded(write(tmp_path / "team", edited(change)))
    assert verdicts["notebook.plots"].fraction == pytest.approx(2 / 3), verdicts["notebook.plots"].message


def test_image_sizes_are_read_from_the_bytes_as_pillow_and_matplotlib_give_them():
    for fmt, size in (("PNG", (640, 480)), ("JPEG", (300, 200)), ("GIF", (65, 70))):
        buf = io.BytesIO()
        Image.new("RGB", size, "white").save(buf, format=fmt)
        text = base64.b64encode(buf.getvalue()).decode()
        got = notebook.image_size(f"image/{fmt.lower()}", "\n".join(text[i:i + 76] for i in range(0, len(text), 76)))
        assert (got["width"], got["height"]) == size, fmt
    svg = io.StringIO()
    Figure(figsize=(6.4, 4.8)).savefig(svg, format="svg")
    assert notebook.image_size("image/svg+xml", svg.getvalue()) == {"width": round(6.4 * 96), "height": round(4.8 * 96)}
    assert notebook.image_size("image/png", "not an image") == {"width": None, "height": None}


# --------------------------------------------------------------------------- notebook.team, in students' forms
TITLE = md("# Deep Learning E1394: Problem set 1 - MNIST classification")
TEAM_FORMS = {  # name -> (first cells, members a TA counts, the team number a TA reads); labelled by hand
    "heading_dash_email": ([TITLE, md("### Ada Lovelace - 225984 - ada.lovelace@students.example.org\n"
                                      "### Alan Turing - 225985 - alan.turing@students.example.org\n"
                                      "### Grace Hopper - 225986 - g.hopper@students.example.org")], 3, None),
    "table": ([TITLE, md("Team 12\n\n| Name | Matriculation number | E-mail |\n|------|------|------|\n"
                         "| Ada Lovelace | 225984 | ada@students.example.org |\n"
                         "| Alan Turing | 225985 | alan@students.example.org |")], 2, "12"),
    "bullets": ([TITLE, md("**Team 3**\n\n- Ada Lovelace (225984)\n- Alan Turing (225985)")], 2, "3"),
    "code_comments": ([code("# Team 7\n# Ada Lovelace, 225984\n# Alan Turing, 225985\nimport numpy as np", 1)], 2,
                      "7"),
    "headings": ([md("# Team 4\n## Ada Lovelace: 225984\n## Alan Turing: 225985"), TITLE], 2, "4"),
    "key_value_lines": ([TITLE, md("**Team number:** 9  \n**Name:** Ada Lovelace  \n**Matriculation number:** "
                                   "225984")], 1, "9"),
    "surname_first": ([TITLE, md("Group 5: Lovelace, Ada (225984); Turing, Alan (225985)")], 2, "5"),
    "diacritics_and_particles": ([TITLE, md("Team 8\n\n* Łukasz Żółć – 225986\n* Zoë O'Neil-Brown – 225987\n"
                                            "* José María García de la Cruz – 225988")], 3, "8"),
    "docstring": ([code('"""\nTeam 2\nAda Lovelace 225984\nAlan Turing 225985\n"""', 1)], 2, "2"),
    "html_comment_and_breaks": ([TITLE, md("<!-- Team 6 -->\nAda Lovelace, 225984<br>\nAlan Turing, 225985")], 2,
                                "6"),
    "this_answer": ([code("# Team number: ____  (fill in the team number assigned on Moodle)\n# Danial Riaz, "
                          "matriculation number 201678\n# Carlo Greß,  matriculation number 216319", 1)], 2, None),
    # not a member: the template's blank lines, names without numbers, numbers without names, a date
    "template_blank": ([code("# Team number: ____\n# Name, matriculation number\n# Name, matriculation number")], 0,
                       None),
    "names_only": ([TITLE, md("Team 3: Ada Lovelace, Alan Turing")], 0, "3"),
    "numbers_only": ([TITLE, md("225984, 225985")], 0, None),
    "course_and_date": ([md("# Deep Learning, Fall 2023\nSubmitted on 15.10.2023 by Team 11, 2 members")], 0, "11"),
}


@pytest.mark.parametrize("name", list(TEAM_FORMS))
def test_the_team_cell_is_read_in_the_forms_students_write(tmp_path, name):
    cells, members, number = TEAM_FORMS[name]
    nb = {"cells": [*cells, code("import numpy as np", 2), code("x = 1", 3)]}
    verdict = graded(write(tmp_path / "team", nb))["notebook.team"]
    if members == 0:
        assert verdict.fraction == 0 and "name no team member" in verdict.message, verdict.message
        return
    assert verdict.fraction == 1, verdict.message
    assert f"{members} member(s) with name and matriculation number" in verdict.message, verdict.message
    if number is None:
        assert "the team number is missing" in verdict.message
    else:
        assert verdict.message.startswith(f"team {number}: "), verdict.message


def test_the_team_message_says_what_was_found():
    got = {name: docs.team(Observations(records({"status": "ok", "cells": [
        {"type": "markdown", "source": text, "count": None, "outputs": []}]}), {}, {}, {})).message
        for name, text in (("names", "Ada Lovelace"), ("numbers", "225984"))}
    assert "found names but no matriculation number" in got["names"]
    assert "found numbers but no names" in got["numbers"]
