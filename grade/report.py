"""Write the grades: grades.csv, grades.json, one <name>.md per submission, timing.csv."""

import csv
import json
from pathlib import Path

from .runner import ITEMS


def _fmt(x):
    return f"{x:g}"


def write_reports(results, out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "grades.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["submission", *ITEMS, "total", "max"])
        for r in results:
            w.writerow([r.name, *(_fmt(r.items[i]["points"]) for i in ITEMS), _fmt(r.total), _fmt(r.max)])
    data = {r.name: {"items": {i: {"points": float(v["points"]), "max": float(v["max"]), "message": v["message"]}
                               for i, v in r.items.items()},
                     "total": float(r.total), "max": float(r.max)} for r in results}
    (out / "grades.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    with open(out / "timing.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["submission", "seconds", "cached_parts"])
        for r in results:
            w.writerow([r.name, f"{r.seconds:.1f}", " ".join(r.cached_parts)])
    for r in results:
        (out / f"{r.name}.md").write_text(markdown(r))
    return out


def markdown(r):
    lines = [f"# Grades: {r.name}", "", f"**Total: {_fmt(r.total)} / {_fmt(r.max)}**", "",
             "| item | points | message |", "|---|---|---|"]
    for item, v in r.items.items():
        msg = v["message"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| `{item}` | {_fmt(v['points'])} / {_fmt(v['max'])} | {msg} |")
    cached = f"; results of {', '.join(r.cached_parts)} reused from the cache" if r.cached_parts else ""
    lines += ["", f"Graded in {r.seconds:.1f} s of checks{cached}.", ""]
    return "\n".join(lines)
