"""Writing output files whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from userio.errors import BadInput

__all__ = ["atomic_write", "check_output", "is_spec_path", "read_text", "writes"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over.

    A failure leaves ``path`` as it was: nothing half-written, nothing lost.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"cannot write {target}: folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=folder)
    except OSError as err:
        raise BadInput(f"cannot write {target}: {err.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private; outputs are ordinary files like any other
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        write(tmp)
        os.replace(tmp, target)
    except OSError as err:
        raise BadInput(f"cannot write {target}: {err.strerror or err}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def writes(data: str | bytes) -> Callable[[Path], object]:
    """The ``write`` for ``atomic_write`` that writes ``data`` (text as UTF-8): bound now, so a loop that
    builds one per file gets each its own."""
    if isinstance(data, bytes):
        return lambda tmp: tmp.write_bytes(data)
    return lambda tmp: tmp.write_text(data, encoding="utf-8")


def is_spec_path(path: str | os.PathLike[str]) -> bool:
    """Whether a path given on the command line names a spec: a spec is a Python file (``.py``), which
    ``specfile.load`` loads; what an audit is given first tells the two audits apart by it."""
    return Path(path).suffix == ".py"


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of an input file, or a one-line ``BadInput``.

    A leading UTF-8 byte order mark is dropped: Windows editors and spreadsheet
    exports write one, and TOML, CSV and JSON readers would take it for text."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"cannot read {path}: it is a folder") from None
    except UnicodeDecodeError:
        raise BadInput(f"cannot read {path}: not UTF-8 text") from None
    except OSError as err:
        raise BadInput(f"cannot read {path}: {err.strerror}") from None


def check_output(path: str | None, suffixes: tuple[str, ...], option: str) -> None:
    """Fail early, before a long run, if an output file cannot be written."""
    if path is None:
        return
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise BadInput(f"{option} {path}: the file must end in {', '.join(suffixes)}")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput(f"{option} {path}: folder {folder} does not exist")
