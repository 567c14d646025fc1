"""``python -m jobs.records upgrade`` (at deploy or before the studio starts;
``python app.py`` and ``python -m jobs.worker`` run it too) and
``python -m jobs.records current``."""

from __future__ import annotations

import argparse
import sys

from jobs.records.engine import shown_url
from jobs.records.migrate import current_revision, head_revision, upgrade
from jobs.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.records", description=__doc__)
    parser.add_argument("command", choices=("upgrade", "current"))
    args = parser.parse_args(argv)
    where = shown_url(get_settings().records_url)
    if args.command == "upgrade":
        before, after = upgrade()
        print(f"records at {after} (were at {before or 'nothing'}): {where}")
    else:
        print(f"records at {current_revision() or 'nothing'} (head {head_revision()}): {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
