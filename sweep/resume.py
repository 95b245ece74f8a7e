"""Whether a sweep may resume from the rows already in its output file.

A row is reused only when everything that produced it matches this sweep: the
policy, its switches, the rest of the scenario, the seed (part of the row's key)
and the wavesim version. Anything else would print one sweep's numbers under
another's name, so a mismatch is refused with one line naming the difference;
``--force`` starts the file over instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sweep.grid import Task
from userio.errors import BadInput
from userio.version import __version__

__all__ = ["check_resumable"]

START_OVER = "give --force to start the file over"


def check_resumable(
    path: Path, rows: Sequence[Mapping[str, object]], tasks: Sequence[Task],
    settings_of: Callable[[Task], dict[str, Any]],
) -> None:
    """Raise ``BadInput`` naming the first difference between a row this sweep would
    reuse and the settings this sweep would run it with."""
    by_key = {t.key: t for t in tasks}
    for row in rows:
        key = (str(row["point"]), int(str(row["seed"])))
        task = by_key.get(key)
        if task is None:  # kept in the file, but not reused by this sweep
            continue
        which = f"its row {key[0] or '(base)'} seed {key[1]}"
        version = row.get("wavesim_version")
        if version != __version__:
            raise BadInput(f"cannot resume from {path}: {which} was written by wavesim {version or '(unknown)'}, "
                           f"this is wavesim {__version__}; {START_OVER}")
        recorded = _recorded(path, which, row.get("settings"))
        wanted = json.loads(json.dumps(settings_of(task)))  # the same plain values a row holds
        difference = _first_difference(recorded, wanted)
        if difference is not None:
            raise BadInput(f"cannot resume from {path}: {which} was run with {difference[0]}, "
                           f"this sweep asks {difference[1]}; {START_OVER}")


def _recorded(path: Path, which: str, text: object) -> dict[str, Any]:
    try:
        settings = json.loads(str(text))
    except json.JSONDecodeError:
        settings = None
    if not isinstance(settings, dict):
        raise BadInput(f"cannot resume from {path}: {which} does not record its settings; {START_OVER}")
    return settings


def _first_difference(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> tuple[str, str] | None:
    """``("policy=atomic", "policy=original")`` for the first setting that differs."""
    for name in sorted(set(old) | set(new)):
        was, now = old.get(name), new.get(name)
        if isinstance(was, dict) and isinstance(now, dict):
            nested = _first_difference(was, now, f"{prefix}{name}.")
            if nested is not None:
                return nested
        elif was != now:
            return f"{prefix}{name}={_text(was)}", f"{prefix}{name}={_text(now)}"
    return None


def _text(value: object) -> str:
    return "(none)" if value is None else str(value)
