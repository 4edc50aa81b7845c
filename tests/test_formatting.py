"""One formatting for all code: `ruff format` (run by `make lint`) decides the shape of every
statement. The one thing it may not reflow is a module-level data table (a word list, a
translation table, a column list: an assignment of a literal dict, tuple, list or set, also
wrapped in a call such as `frozenset(...)`), where a hand-laid layout is how a reader scans the
data; such a statement may end with `# fmt: skip`. Anywhere else an opt-out fails this test:
issue 17 counted 88 of them scattered over code, 150 by the time they were removed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A comment that turns the formatter off for a statement or a region.
_OPT_OUT = re.compile(r"#\s*(fmt:\s*(skip|off|on)|yapf:\s*disable)\b")
_SKIP = re.compile(r"#\s*fmt:\s*skip\s*$")
_DATA = (ast.Dict, ast.Tuple, ast.List, ast.Set)


def _is_data_table(node: ast.stmt) -> bool:
    if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
        return False
    value = node.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.args:
        value = value.args[0]
    return isinstance(value, _DATA)


def misplaced_opt_outs(source: str) -> list[int]:
    """Line numbers (1-based) of `source` with a formatter opt-out that is not a `# fmt: skip`
    ending a module-level data table."""
    lines = source.splitlines()
    tables = {
        node.end_lineno
        for node in ast.parse(source).body
        if _is_data_table(node) and node.end_lineno is not None
    }
    return [
        n
        for n, line in enumerate(lines, 1)
        if _OPT_OUT.search(line) and not (n in tables and _SKIP.search(line))
    ]


def test_the_finder_allows_data_tables_only() -> None:
    planted = (
        "WORDS = {\n    'a': ('x', 'y'),\n}  # fmt: skip\n"  # a data table: allowed
        "NAMES = frozenset({'a',  'b'})  # fmt: skip\n"  # wrapped in a call: allowed
        "def f(a,  b):  # fmt: skip\n    return (a,  b)  # fmt: skip\n"  # code: refused
        "x = call(1,  2)  # fmt: skip\n"  # a call is not a table
        "# fmt: off\nY = (1,  2)\n# fmt: on\n"  # regions: refused
        "Z = [1,  2]  #fmt:skip\n"  # compact spelling of an allowed one
    )
    assert misplaced_opt_outs(planted) == [5, 6, 7, 8, 10]
    assert misplaced_opt_outs("text = 'the fmt module'\n# formatting: skip nothing\n") == []


def test_only_data_tables_opt_out_of_the_formatter() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in ("hotelbot", "tests")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.resolve() != Path(__file__).resolve()
        for line in misplaced_opt_outs(path.read_text(encoding="utf-8"))
    ]
    assert found == []
