"""Execute MNIST_classification.ipynb headless with papermill, streaming each cell's output.

    python run_notebook.py                      # default parameters (course scale)
    python run_notebook.py -p epochs 5          # any notebook parameter, repeatable
    python run_notebook.py -p data_path /data/mnist -p scratch_n_train 60000 -p scratch_n_val 10000

With the default parameters the executed notebook replaces MNIST_classification.ipynb and
the figures go to figures/: that is how the committed copy is made.  Any ``-p`` (or
``--output``) writes to build/ instead (notebook and figures), so the committed results stay
those of the default run.  ``make run ARGS="-p epochs 5"`` passes the arguments through.
"""

import argparse
import ast
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NOTEBOOK = ROOT / "MNIST_classification.ipynb"
BUILD = ROOT / "build"


def parse_value(text):
    """A parameter value as a Python literal when it is one (5, 0.1, None, [784, 10]), else a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set a notebook parameter (see the notebook's parameters cell)")
    parser.add_argument("--output", type=Path, help="where to write the executed notebook")
    args = parser.parse_args(argv)

    parameters = {name: parse_value(value) for name, value in args.parameter}
    if args.output is None and not parameters:
        output = NOTEBOOK
    else:
        output = (args.output or BUILD / NOTEBOOK.name).resolve()
        parameters.setdefault("figures_dir", str(output.parent / "figures"))
    output.parent.mkdir(parents=True, exist_ok=True)

    import papermill  # imported here so that --help is instant

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("papermill").setLevel(logging.INFO)
    for noisy in ("traitlets", "asyncio", "blib2to3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(f">> executing {NOTEBOOK.name} with parameters {parameters or '(defaults)'}", flush=True)
    # Execute into a scratch file and move it into place only on success: a failed run never
    # overwrites a good notebook (the failed one is left in build/ for inspection).
    BUILD.mkdir(exist_ok=True)
    running = BUILD / f"{output.stem}.running.ipynb"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(str(NOTEBOOK), str(running), parameters=parameters, cwd=str(ROOT),
                                   log_output=True, progress_bar=False, kernel_name="python3")
    except papermill.PapermillExecutionError as err:
        print(f">> FAILED in cell {err.cell_index}: {err.ename}: {err.evalue}\n>> partial notebook: {running}",
              file=sys.stderr, flush=True)
        return 1
    _record_relative_paths(running, output)
    running.unlink()
    seconds = time.perf_counter() - start
    figures = Path(parameters.get("figures_dir", ROOT / "figures"))
    figures = figures if figures.is_absolute() else ROOT / figures
    print(f">> done in {seconds:.1f} s\n>> executed notebook: {output}\n>> figures: {figures}/", flush=True)
    return 0


def _record_relative_paths(running, output):
    """Write ``running`` to ``output`` with papermill's record of both paths relative to the
    repository, so that the committed notebook names no folder of the machine that ran it."""
    import nbformat

    nb = nbformat.read(running, as_version=4)
    record = nb.metadata.get("papermill", {})
    for key, path in (("input_path", NOTEBOOK), ("output_path", output)):
        if key in record:
            record[key] = os.path.relpath(path, ROOT)
    nbformat.write(nb, output)


if __name__ == "__main__":
    sys.exit(main())
