"""Read ``MNIST_classification.ipynb`` as data, whatever the file holds (the judges are in grade/judge/docs.py).

The notebook is never executed: its saved cells and outputs are read from the JSON (nbformat 4).
:func:`read_notebook` does not raise for anything a submission can put there: a missing or
special file (a folder, a FIFO, a link leading outside), one too large, not UTF-8, not JSON,
nested too deeply, or with fields of the wrong type gives ``{"status", "message"}``, the message
naming the file and the problem; a readable one gives ``{"status": "ok", "cells": [...]}`` with
only what the judges use, every text capped, and the pixel size of every image output.
"""

import base64
import json
import os
import re
import stat
import struct
from pathlib import Path

from ..parts import NOTEBOOK

NOTEBOOK_MAX_BYTES = 100 * 2**20
MAX_VALUES = 5_000_000  # JSON containers and list items ('[', '{', ','): bounds what parsing can allocate
SOURCE_CHARS, OUTPUT_CHARS, NAME_CHARS, VALUE_CHARS = 100_000, 200_000, 100, 300
IMAGE_CHARS, IMAGE_HEAD = 400_000, 2**18  # base64 read per image output, decoded from its start (the size is there)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
CELL_TYPES = ("code", "markdown", "raw")


class NotebookError(ValueError):
    """The file is not a notebook the judges can read: the message says where and why."""


def read_notebook(folder):
    """``{"status": "ok", "cells": [...]}`` or ``{"status": missing|outside|too_large|unreadable, "message"}``."""
    folder = Path(folder)
    try:
        data = _read_bytes(folder, folder / NOTEBOOK)
        if isinstance(data, dict):
            return data
        return {"status": "ok", "cells": cells_of(parse(data))}
    except NotebookError as err:
        return {"status": "unreadable", "message": f"`{NOTEBOOK}` cannot be read as a notebook: {err}"}


def _read_bytes(folder, path):
    """The file's bytes, or a status dict for a file that is missing, outside, special or too large."""
    try:
        if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
            return {"status": "outside", "message": f"`{NOTEBOOK}` is a link to a file outside the submission"}
        info = os.stat(path)
    except FileNotFoundError:
        return {"status": "missing", "message": f"`{NOTEBOOK}` is missing from the submission"}
    except RuntimeError:  # Path.resolve() on a loop of links
        raise NotebookError("it is a loop of symbolic links") from None
    except OSError as err:  # a loop of links, a name too long, no permission
        raise NotebookError(f"{type(err).__name__}: {err.strerror or 'cannot be read'}") from None
    if stat.S_ISDIR(info.st_mode):
        return {"status": "unreadable", "message": f"`{NOTEBOOK}` is a folder, not a notebook file"}
    if not stat.S_ISREG(info.st_mode):
        return {"status": "unreadable", "message": f"`{NOTEBOOK}` is a special file ({_kind(info.st_mode)}), not a "
                                                   f"notebook file"}
    if info.st_size > NOTEBOOK_MAX_BYTES:
        return {"status": "too_large", "message": f"`{NOTEBOOK}` is {_size(info.st_size)}, more than the "
                                                  f"{_size(NOTEBOOK_MAX_BYTES)} the grader reads: clear large "
                                                  f"outputs (e.g. printed arrays) and save it again"}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise NotebookError("it changed into a special file while it was read")
            data = fh.read(NOTEBOOK_MAX_BYTES + 1)
    except OSError as err:
        raise NotebookError(f"{type(err).__name__}: {err.strerror or err}") from None
    if len(data) > NOTEBOOK_MAX_BYTES:
        raise NotebookError(f"it grew past {_size(NOTEBOOK_MAX_BYTES)} while it was read")
    return data


def _kind(mode):
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _size(n):
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB"


def parse(data):
    """The JSON object of a notebook file's bytes (NotebookError naming the problem otherwise)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise NotebookError(f"it is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); save it "
                            f"from Jupyter again") from None
    values = text.count("[") + text.count("{") + text.count(",")
    if values > MAX_VALUES:
        raise NotebookError(f"it holds more than {MAX_VALUES:,} JSON values ({values:,}); a saved notebook holds far "
                            f"fewer")
    try:
        return json.loads(text)
    except RecursionError:
        raise NotebookError("its JSON is nested too deeply to be a notebook") from None
    except MemoryError:
        raise NotebookError("its JSON is too large to read") from None
    except ValueError as err:
        raise NotebookError(f"it is not valid JSON ({_short(err)})") from None


def _short(value, limit=VALUE_CHARS):
    text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _json_type(value):
    for kind, name in ((bool, "true/false"), (dict, "an object"), (list, "a list"), (str, "text"),
                       ((int, float), "a number")):
        if isinstance(value, kind):
            return name
    return "null"


def _text(value, where, field, limit):
    """nbformat's multiline string: text, or a list of texts (joined), capped at ``limit`` characters."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        out, size = [], 0
        for v in value:
            out.append(v[:limit - size])
            size += len(out[-1])
            if size >= limit:
                break
        return "".join(out)
    held = f" holding {_json_type(next(v for v in value if not isinstance(v, str)))}" if isinstance(value, list) else ""
    raise NotebookError(f"{where}: '{field}' is {_json_type(value)}{held}, expected text or a list of texts")


def cells_of(nb):
    """The cells as the judges read them: ``{"type", "source", "count", "outputs": [...]}`` (checked field by field)."""
    if not isinstance(nb, dict):
        raise NotebookError(f"the file holds {_json_type(nb)}, expected a notebook (an object with 'cells')")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"'cells' is {_json_type(cells)}, expected a list of cells (nbformat 4; an nbformat 3 "
                            f"notebook must be opened and saved again in Jupyter)" if "cells" in nb else
                            "there is no 'cells' list (nbformat 4; an nbformat 3 notebook must be opened and saved "
                            "again in Jupyter)")
    out = []
    for k, cell in enumerate(cells, start=1):
        where = f"cell {k}"
        if not isinstance(cell, dict):
            raise NotebookError(f"{where} is {_json_type(cell)}, expected an object")
        kind = cell.get("cell_type")
        if kind not in CELL_TYPES:
            raise NotebookError(f"{where}: 'cell_type' is {_short(json.dumps(kind), NAME_CHARS)}, expected one of "
                                f"{', '.join(CELL_TYPES)}")
        entry = {"type": kind, "source": _text(cell.get("source", ""), where, "source", SOURCE_CHARS), "count": None,
                 "outputs": []}
        if kind == "code":
            entry["count"] = _count(cell.get("execution_count"), where)
            outputs = cell.get("outputs", [])
            if not isinstance(outputs, list):
                raise NotebookError(f"{where}: 'outputs' is {_json_type(outputs)}, expected a list")
            entry["outputs"] = [_output(o, f"{where}, output {j}") for j, o in enumerate(outputs, start=1)]
        out.append(entry)
    return out


def _count(value, where, field="execution_count"):
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise NotebookError(f"{where}: '{field}' is {_short(json.dumps(value), NAME_CHARS)}, expected a number of 0 or "
                        f"more, or null")


def _output(output, where):
    if not isinstance(output, dict):
        raise NotebookError(f"{where} is {_json_type(output)}, expected an object")
    kind = output.get("output_type")
    if kind not in OUTPUT_TYPES:
        raise NotebookError(f"{where}: 'output_type' is {_short(json.dumps(kind), NAME_CHARS)}, expected one of "
                            f"{', '.join(OUTPUT_TYPES)}")
    got = {"type": kind, "text": "", "images": [], "count": None, "ename": "", "evalue": ""}
    if kind == "stream":
        got["text"] = _text(output.get("text", ""), where, "text", OUTPUT_CHARS)
    elif kind == "error":
        got["ename"] = _text(output.get("ename", ""), where, "ename", NAME_CHARS)
        got["evalue"] = _text(output.get("evalue", ""), where, "evalue", VALUE_CHARS)
    else:
        data = output.get("data", {})
        if not isinstance(data, dict):
            raise NotebookError(f"{where}: 'data' is {_json_type(data)}, expected an object of MIME types")
        got["text"] = _text(data.get("text/plain", ""), where, "data.text/plain", OUTPUT_CHARS)
        for mime, value in data.items():
            if mime.startswith("image/"):
                got["images"].append({"mime": mime[:NAME_CHARS],
                                      **image_size(mime, _text(value, where, f"data.{mime[:NAME_CHARS]}",
                                                               IMAGE_CHARS))})
        if kind == "execute_result":
            got["count"] = _count(output.get("execution_count"), where)
    got["text"] = ANSI.sub("", got["text"])
    return got


# --------------------------------------------------------------------------- image sizes, from the bytes
def image_size(mime, text):
    """``{"width", "height"}`` in pixels (None, None when the data does not say)."""
    try:
        if mime == "image/svg+xml":
            return _svg_size(text)
        head = re.sub(r"[^A-Za-z0-9+/]", "", text[:IMAGE_CHARS])[:IMAGE_HEAD]
        raw = base64.b64decode(head[:len(head) // 4 * 4])
        for reader in (_png_size, _gif_size, _jpeg_size):
            size = reader(raw)
            if size:
                return {"width": size[0], "height": size[1]}
    except (ValueError, struct.error):
        pass
    return {"width": None, "height": None}


def _png_size(raw):
    if raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR":
        return struct.unpack(">II", raw[16:24])
    return None


def _gif_size(raw):
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", raw[6:10])
    return None


def _jpeg_size(raw):
    if raw[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(raw):
        if raw[i] != 0xFF:
            return None
        marker, length = raw[i + 1], struct.unpack(">H", raw[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a start-of-frame segment
            height, width = struct.unpack(">HH", raw[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


SVG_LENGTH = re.compile(r"""\b(width|height)\s*=\s*["']\s*([\d.]+)\s*(px|pt)?\s*["']""")


def _svg_size(text):
    """The ``width`` and ``height`` of the ``<svg>`` tag (points are 4/3 pixels)."""
    start = text.find("<svg", 0, 4000)
    tag = text[start:text.find(">", start, start + 4000)] if start >= 0 else ""
    found = {}
    for key, value, unit in SVG_LENGTH.findall(tag):
        found.setdefault(key, float(value) * (4 / 3 if unit == "pt" else 1))
    if "width" in found and "height" in found:
        return {"width": round(found["width"]), "height": round(found["height"])}
    return {"width": None, "height": None}
