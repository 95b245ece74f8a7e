"""The compiled engine under UndefinedBehaviorSanitizer, and its sequence lookup's range check.

A fresh process builds ``model/engine.c`` with ``-fsanitize=undefined
-fno-sanitize-recover`` (any undefined behaviour aborts it), checks every policy
on the default scope, and asks the engine for sequences it holds, an empty one
and ones it never interned.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model import compiled

SCRIPT = """
import ctypes

from coordinator import POLICIES
from model import compiled
from model.checker import check
from model.scope import Scope

for name, policy in POLICIES.items():
    result = check(Scope(), policy, engine="compiled")
    assert result.complete, name
lib = compiled._library()
NONE32 = 0xFFFFFFFF
assert lib.ws_sequence(0, None, 0) == NONE32, "a released engine holds no sequence"
assert lib.ws_reset(ctypes.byref(compiled._Config())) == 0  # a fresh table of sequences
empty = lib.ws_intern(b"", 0)
assert lib.ws_sequence(empty, None, 0) == 0, "the empty sequence"
last = lib.ws_intern(b"\\xfe\\xfd\\xfc", 3)
buf = ctypes.create_string_buffer(3)
assert lib.ws_sequence(last, buf, 3) == 3 and buf.raw == b"\\xfe\\xfd\\xfc", "a sequence it holds"
assert lib.ws_sequence(last + 1, None, 0) == NONE32, "one past the last sequence"
assert lib.ws_sequence(NONE32 - 1, None, 0) == NONE32, "far past the last sequence"
print("clean")
"""


def _sanitizing_compiler(folder: Path) -> Path | None:
    """A ``CC`` that adds UBSan to every build, or None when the compiler has no UBSan."""
    base = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if base is None:
        return None
    probe = folder / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    flags = "-fsanitize=undefined -fno-sanitize-recover=undefined"
    if subprocess.run([base, *flags.split(), "-o", str(folder / "probe"), str(probe)], capture_output=True,
                      check=False).returncode != 0:
        return None
    wrapper = folder / "ubsan-cc"
    wrapper.write_text(f'#!/bin/sh\nexec {base} {flags} -g "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.skipif(compiled.unavailable() is not None, reason=f"no compiled engine: {compiled.unavailable()}")
@pytest.mark.parametrize("sanitized", [False, True], ids=["plain", "ubsan"])
def test_the_engine_has_no_undefined_behaviour_and_refuses_unknown_sequences(tmp_path: Path, sanitized: bool) -> None:
    env = {**os.environ, "WAVESIM_CACHE": str(tmp_path / "cache"), "UBSAN_OPTIONS": "print_stacktrace=1"}
    if sanitized:
        wrapper = _sanitizing_compiler(tmp_path)
        if wrapper is None:
            pytest.skip("the C compiler here has no UndefinedBehaviorSanitizer")
        env["CC"] = str(wrapper)
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert "runtime error" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 0 and run.stdout == "clean\n", run.stderr[-3000:]
