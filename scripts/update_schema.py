"""Write the JSON Schema of the spec language to cnncalc/spec.schema.json, the copy the package ships.

    python scripts/update_schema.py          # rewrite the file
    python scripts/update_schema.py --check  # exit 1 if it is out of date (tests check it too)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnncalc.schema import SCHEMA_PATH, schema_text  # noqa: E402


def render() -> str:
    return schema_text()


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not SCHEMA_PATH.exists() or SCHEMA_PATH.read_text() != text:
            print(f"{SCHEMA_PATH.name} is out of date: run python scripts/update_schema.py", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
