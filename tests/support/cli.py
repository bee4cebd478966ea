"""Running `oms` subcommands in-process against settings of a test's own."""

from __future__ import annotations

from pathlib import Path

from config.settings import Settings
from oms.cli import parser


def settings_in(folder: Path) -> Settings:
    """Settings whose read model is a fresh SQLite file in `folder` (and `var/` is it)."""
    return Settings(database_url=f"sqlite:///{folder / 'oms.db'}", var_dir=folder)


def oms(settings: Settings, *argv: str) -> int:
    """`oms ARGV...` with these settings; its exit code."""
    args = parser().parse_args(list(argv))
    return int(args.fn(args, settings))
