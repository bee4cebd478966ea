"""`pybabel extract`'s extractor for the keys the console builds at run time (babel.cfg).

Most keys are built from a value, not written out where they are used:
`t('department.' ~ d)`, `loc.label('feedback_state', x)`, `f"refusal.{code}"`. The Python
and Jinja2 extractors cannot see those, and `pybabel update` would mark every key missing
from the template obsolete. So the template also takes every key of the default
language's catalogue (zh-CN, where a new key is written first), with its translator
comments; the literal keys in code and templates come from the usual extractors. Keys no
longer used are found by the tests (tests/console/test_language.py), not by extraction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.pofile import read_po


def extract_catalogue_keys(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str | tuple[str, ...], list[str]]]:
    """Every msgid of a `.po` file, as `gettext` (or `ngettext` for a plural entry) calls."""
    for message in read_po(fileobj, abort_invalid=True):
        if not message.id:
            continue  # the header
        line = message.lineno or 0
        if isinstance(message.id, str):
            yield line, "gettext", message.id, list(message.auto_comments)
        else:
            yield line, "ngettext", tuple(message.id), list(message.auto_comments)
