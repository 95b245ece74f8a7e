"""What a plain (not editable) install carries: the data ``wavesim report`` reads.

The wheel is built as ``pip install /path/to/wavesim`` builds it, unpacked
outside the clone, and the report's readers are run from it in a fresh process,
so a reader that looks for a file beside the source tree fails here as it fails
after a plain install. It is built from a copy of the clone (its links kept as
links) under the test's temporary folder: a build writes ``build/`` and
``*.egg-info`` beside its source, which tests reading the clone at the same time
must not see.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: what a clone holds that is not its source: the build's and the tools' leftovers
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
                                    "site", "out")

READERS = """
import wavesim, wavesim.docs_live as live
from report.build import READINGS_JSON, writeup_dispatch_seconds
assert wavesim.__file__.startswith({site!r}), wavesim.__file__
assert len(writeup_dispatch_seconds()) == {waves}, "the write-up's timestamps"
assert READINGS_JSON.is_file(), "the sensitivity table"
print(live.guards())
print(live.fix_with_faults())
"""


def test_a_wheel_carries_what_the_report_reads(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCE)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("wavesim-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    for shipped in ("live-results/guards.jsonl", "live-results/atomic-faults-postgresql.jsonl",
                    "live-results/atomic-faults-mariadb.jsonl", "readings.json", "writeup_dispatches.csv"):
        source = (ROOT / "report" / "data" / shipped).resolve()
        assert (site / "report" / "data" / shipped).read_bytes() == source.read_bytes(), shipped
    waves = sum(1 for line in (ROOT / "tests" / "fixtures" / "writeup_dispatches.csv").read_text().splitlines()[1:]
                if line.strip())
    run = subprocess.run([sys.executable, "-c", READERS.format(site=str(site), waves=waves)], cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "guarded on PostgreSQL" in run.stdout and "atomic on PostgreSQL" in run.stdout
