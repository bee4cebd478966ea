"""`python -m bench run ...` / `scale ...` / `scans ...` (see bench/cli.py)."""

from __future__ import annotations

import sys

from bench.cli import parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
