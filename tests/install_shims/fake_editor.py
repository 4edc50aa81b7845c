#!/usr/bin/python3
"""`editor FILE` in the install test: plays the sysadmin who edits FILE as the page says.

The test writes /opt/install-test/edits.json: {path: {"content": text}} replaces the whole
file, {path: {"replace": [[old, new], ...]}} replaces text that must be there (so a changed
shipped file makes the test fail instead of silently editing nothing). A file without an
entry is left as it is (the reader looked and kept the defaults).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EDITS = Path("/opt/install-test/edits.json")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("fake editor: expected one file", file=sys.stderr)
        return 1
    path = Path(argv[0])
    edits = json.loads(EDITS.read_text()).get(str(path))
    if edits is None:
        return 0
    if "content" in edits:
        text = edits["content"]
    else:
        text = path.read_text()
        for old, new in edits["replace"]:
            if old not in text:
                print(f"fake editor: {path} has no {old!r} to change", file=sys.stderr)
                return 1
            text = text.replace(old, new)
    # Like an editor saving in place: the file keeps its owner and mode.
    with path.open("r+") as handle:
        handle.write(text)
        handle.truncate()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
