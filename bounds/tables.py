"""Tables people read: rows of dicts written as Markdown, LaTeX (booktabs) and CSV.

Missing values (None) show as "—" in Markdown, "--" in LaTeX and as an empty CSV field; floats are shown with
``float_format`` in Markdown and LaTeX and at full precision (repr) in CSV. ``write_tables`` writes into a
directory the user chooses and never over an existing file unless ``force=True``.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

FORMATS = ("md", "tex", "csv")
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _columns(rows, columns) -> list[str]:
    if not rows:
        raise ValueError("rows must contain at least one row")
    if columns is None:
        columns = list(rows[0])
    missing = [c for row in rows for c in columns if c not in row]
    if missing:
        raise ValueError(f"every row must have the columns {columns}; missing {missing[0]!r}")
    return list(columns)


def _cell(value, float_format: str, missing: str = "—") -> str:
    if value is None:
        return missing
    return format(value, float_format) if isinstance(value, float) else str(value)


def to_markdown(rows, columns=None, float_format: str = ".4g") -> str:
    """A GitHub-flavoured Markdown table, numbers right-aligned, "|" in cells escaped."""
    columns = _columns(rows, columns)
    numeric = [all(isinstance(row[c], (int, float)) or row[c] is None for row in rows) for c in columns]

    def line(cells) -> str:
        return "| " + " | ".join(str(cell).replace("|", r"\|") for cell in cells) + " |"

    lines = [line(columns), "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    lines += [line(_cell(row[c], float_format) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def to_latex(rows, columns=None, float_format: str = ".4g") -> str:
    """A booktabs ``tabular`` (needs \\usepackage{booktabs}), special characters escaped."""
    columns = _columns(rows, columns)
    lines = [r"\begin{tabular}{" + "l" * len(columns) + "}", r"\toprule",
             " & ".join(_latex_escape(c) for c in columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_latex_escape(_cell(row[c], float_format, "--")) for c in columns) + r" \\"
              for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_csv(rows, columns=None) -> str:
    """CSV with a header row; floats at full precision (repr), None as an empty field."""
    columns = _columns(rows, columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else repr(row[c]) if isinstance(row[c], float) else row[c]
                         for c in columns])
    return buffer.getvalue()


def render(rows, fmt: str, float_format: str = ".4g") -> str:
    """The table in one of FORMATS."""
    if fmt == "csv":
        return to_csv(rows)
    return (to_markdown if fmt == "md" else to_latex)(rows, float_format=float_format)


def write_tables(tables: dict, directory, *, formats=FORMATS, force: bool = False,
                 float_format: str = ".4g") -> list[Path]:
    """Write each table (name -> rows) as ``directory/name.{md,tex,csv}``; returns the paths written.

    The directory is created if needed. Unless ``force``, nothing is written when any target exists
    (FileExistsError naming them), so a run never leaves a half-overwritten set.
    """
    if not formats or any(f not in FORMATS for f in formats):
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {tuple(formats)}")
    directory = Path(directory)
    texts = {directory / f"{name}.{fmt}": render(rows, fmt, float_format)
             for name, rows in tables.items() for fmt in formats}
    existing = [str(p) for p in texts if p.exists()]
    if existing and not force:
        raise FileExistsError(f"refusing to overwrite {', '.join(existing)} (use force=True / --force)")
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    return list(texts)
