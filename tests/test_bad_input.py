"""Bad input to every command: one ``error:`` line naming the value, exit code 2, no traceback, no output file.

Each case is a command line built in a fresh folder (``files``) and the words the
one line must contain. Output files named on the command line must not appear, or,
when they existed before, must be byte-identical afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import wavesim.commands.run as run_command
from userio.exitcodes import INTERNAL, VIOLATED
from wavesim.cli import main

TINY = ["--waves", "2", "--wave-size", "2", "--workers", "2"]
HEADER = "job_id,wave_number,dependency_level,status,dispatched_at,completed_at\n"
ONE_WAVE = HEADER + "1,1,-1,completed,2025-09-30 09:00:00,2025-09-30 09:00:10\n"
BATCHES_SPEC = str(Path(__file__).parent / "fixtures" / "specs" / "batches.py")


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def assert_one_line(result: Result, *words: str, code: int = 2) -> str:
    """Exit ``code``, nothing on stdout, exactly one ``error:`` line on stderr holding every word."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ")
    for word in words:
        assert word in line, (word, line)
    return line


# -- files the cases use ------------------------------------------------------------------------

def _unreadable(path: Path) -> Path:
    """A file this process cannot read: mode 000, or (as root, who reads anyway) a symlink to itself."""
    path.write_text("waves = 2\n")
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        return path
    path.unlink()
    path.symlink_to(path.name)  # reading it: 'Too many levels of symbolic links'
    return path


def _readonly_folder(tmp: Path) -> Path:
    """A folder this process cannot create files in: mode 555, or (as root) procfs."""
    folder = tmp / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    probe = folder / "probe"
    try:
        probe.touch()
    except PermissionError:
        return folder
    probe.unlink()
    return Path("/proc")


@dataclass(frozen=True, slots=True)
class Files:
    """A folder of ready-made bad inputs."""

    root: Path

    def text(self, name: str, text: str) -> str:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def bytes(self, name: str, data: bytes) -> str:
        path = self.root / name
        path.write_bytes(data)
        return str(path)

    def folder(self) -> str:
        path = self.root / "a-folder"
        path.mkdir(exist_ok=True)
        return str(path)

    def missing(self, name: str) -> str:
        return str(self.root / "no-such-folder" / name)

    def absent(self, name: str) -> str:
        return str(self.root / name)

    def unreadable(self) -> str:
        return str(_unreadable(self.root / "unreadable.txt"))

    def readonly(self, name: str) -> str:
        return str(_readonly_folder(self.root) / name)

    def under_file(self, name: str) -> str:
        (self.root / "plain-file").write_text("x")
        return str(self.root / "plain-file" / name)


@dataclass(frozen=True, slots=True)
class Case:
    args: Callable[[Files], list[str]]
    words: tuple[str, ...]


def c(args: Callable[[Files], list[str]], *words: str) -> Case:
    return Case(args, words)


def fixed(*args: str) -> Callable[[Files], list[str]]:
    return lambda _f: list(args)


POLICY = ("'bogus'", "original", "guarded", "seed-fix", "atomic")

CASES: dict[str, Case] = {
    # -- unknown names
    "demo-policy": c(fixed("demo", "--policy", "bogus"), *POLICY),
    "run-policy": c(fixed("run", "--policy", "bogus"), *POLICY),
    "run-preset": c(fixed("run", "--preset", "bogus"), "'bogus'", "light", "stragglers", "rapid", "rapid-completions",
                   "incident"),
    "compare-policy": c(fixed("compare", "--policy", "bogus"), *POLICY),
    "sweep-policy": c(fixed("sweep", "--out", "x.csv", "--policy", "bogus"), *POLICY),
    "check-policy": c(fixed("check", "--policy", "bogus"), *POLICY),
    "check-property": c(fixed("check", "--policy", "original", "--property", "bogus"),
                        "'bogus'", "single_active_wave", "import_completes"),
    "check-strategy": c(fixed("check", "--policy", "original", "--strategy", "bogus"), "'bogus'", "bfs", "pct"),
    "sweep-param-name": c(fixed("sweep", "--out", "x.csv", "--param", "bogus=1"), "'bogus'", "workers"),
    "sweep-param-value": c(fixed("sweep", "--out", "x.csv", "--param", "policy=bogus"), *POLICY),
    "sweep-plot-metric": c(fixed("sweep", "--out", "x.csv", "--param", "workers=1", "--plot", "bogus"),
                           "'bogus'", "makespan_s"),
    "audit-format": c(lambda f: ["audit", "--format", "bogus", f.text("h.csv", HEADER)], "'bogus'", "csv", "jsonl"),
    "audit-tz": c(lambda f: ["audit", "--tz", "Mars/Olympus", f.text("h.csv", HEADER)], "Mars/Olympus", "UTC"),
    "faults-fault": c(fixed("faults", "--fault", "bogus"), "'bogus'", "crash", "swarm"),
    "faults-policy": c(fixed("faults", "--policy", "bogus"), *POLICY),
    "no-such-command": c(fixed("bogus"), "'bogus'", "--help"),
    "no-such-option": c(fixed("run", "--bogus"), "'--bogus'", "run --help"),
    "missing-option": c(fixed("check"), "'--policy'", "original"),
    # -- out-of-range numbers
    "run-wave-size-0": c(fixed("run", "--wave-size", "0"), "wave_size", "between 1 and", "got 0"),
    "run-threshold-0": c(fixed("run", "--threshold", "0"), "threshold", "between 1 and 100", "got 0"),
    "run-threshold-101": c(fixed("run", "--threshold", "101"), "threshold", "between 1 and 100", "got 101"),
    "run-workers-0": c(fixed("run", "--workers", "0"), "workers", "between 1 and", "got 0"),
    "run-latency-negative": c(fixed("run", "--db-read-ms", "-1"), "db_read_ms", "between 0 and", "got -1"),
    "run-latency-nan": c(fixed("run", "--db-read-ms", "nan"), "db_read_ms", "between 0 and", "got nan"),
    "run-write-latency-inf": c(fixed("run", "--db-write-ms", "inf"), "db_write_ms", "between 0 and", "got inf"),
    "run-horizon-0": c(fixed("run", "--horizon-s", "0"), "horizon_s", "between 0.001 and", "got 0"),
    "run-max-events-0": c(fixed("run", "--max-events", "0"), "max_events", "between 1 and", "got 0"),
    "run-seed-negative": c(fixed("run", "--seed", "-1"), "'--seed'", "-1", "x>=0"),
    "run-not-a-number": c(fixed("run", "--waves", "abc"), "'--waves'", "'abc'", "integer"),
    "compare-seeds-0": c(fixed("compare", "--seeds", "0"), "'--seeds'", "0", "1<=x"),
    "compare-first-seed": c(fixed("compare", "--first-seed", "-1"), "'--first-seed'", "-1", "x>=0"),
    "compare-wave-size-0": c(fixed("compare", "--wave-size", "0"), "wave_size", "got 0"),
    "sweep-seeds-0": c(fixed("sweep", "--out", "x.csv", "--seeds", "0"), "'--seeds'", "0", "x>=1"),
    "sweep-workers-0": c(fixed("sweep", "--out", "x.csv", "--workers", "0"), "workers", "got 0"),
    "sweep-jobs-0": c(fixed("sweep", "--out", "x.csv", "--jobs", "0"), "'--jobs'", "0", "x>=1"),
    "sweep-param-range": c(fixed("sweep", "--out", "x.csv", "--param", "threshold=50,101"),
                           "threshold=101", "between 1 and 100"),
    "sweep-param-nan": c(fixed("sweep", "--out", "x.csv", "--param", "horizon_s=nan"), "horizon_s=nan", "0.001"),
    "sweep-param-shape": c(fixed("sweep", "--out", "x.csv", "--param", "workers"), "'workers'", "NAME=V1,V2"),
    "sweep-scheduler": c(fixed("sweep", "--out", "x.csv", "--seeds", "1", "--scheduler", "nowhere"),
                         "nowhere", "tcp://"),
    "check-waves-0": c(fixed("check", "--policy", "original", "--waves", "0"), "waves", "1 to 6", "got 0"),
    "check-wave-size-0": c(fixed("check", "--policy", "original", "--wave-size", "0"), "wave_size", "got 0"),
    "check-threshold-0": c(fixed("check", "--policy", "original", "--threshold", "0"), "threshold", "got 0"),
    "check-threshold-101": c(fixed("check", "--policy", "original", "--threshold", "101"), "threshold", "got 101"),
    "check-workers-0": c(fixed("check", "--policy", "original", "--workers", "0"), "workers", "got 0"),
    "check-crashes-negative": c(fixed("check", "--policy", "original", "--crashes", "-1"), "crashes", "got -1"),
    "check-max-states-0": c(fixed("check", "--policy", "original", "--max-states", "0"), "--max-states", "got 0"),
    "check-time-limit-nan": c(fixed("check", "--policy", "original", "--time-limit", "nan"),
                              "--time-limit", "above 0", "got nan"),
    "check-pct-depth-0": c(fixed("check", "--policy", "original", "--pct-depth", "0"), "--pct-depth", "got 0"),
    "faults-seeds-0": c(fixed("faults", "--seeds", "0"), "'--seeds'", "0", "1<=x"),
    "faults-crash-rate": c(fixed("faults", "--crash-rate", "2"), "crash_rate", "between 0 and 1", "got 2"),
    "faults-threshold-101": c(fixed("faults", "--threshold", "101"), "threshold", "got 101"),
    "report-seeds-0": c(fixed("report", "--seeds", "0"), "'--seeds'", "0", "1<=x"),
    "report-jobs-0": c(fixed("report", "--jobs", "0"), "'--jobs'", "0", "1<=x"),
    "audit-window-0": c(lambda f: ["audit", "--window", "0", f.text("h.csv", HEADER)], "--window 0.0", "above 0"),
    "audit-window-nan": c(lambda f: ["audit", "--window", "nan", f.text("h.csv", HEADER)], "--window nan", "above 0"),
    "audit-window-inf": c(lambda f: ["audit", "--window", "inf", f.text("h.csv", HEADER)], "--window inf", "finite"),
    "audit-stall-nan": c(lambda f: ["audit", "--stall-after", "nan", f.text("h.csv", HEADER)],
                         "--stall-after nan", "0 or more"),
    "audit-stall-negative": c(lambda f: ["audit", "--stall-after", "-1", f.text("h.csv", HEADER)],
                              "--stall-after -1", "0 seconds or more"),
    "audit-burst-limit-0": c(lambda f: ["audit", "--burst-limit", "0", f.text("h.csv", HEADER)],
                             "'--burst-limit'", "x>=1"),
    "audit-now": c(lambda f: ["audit", "--now", "soon", f.text("h.csv", HEADER)], "'soon'", "ISO 8601"),
    # a spec's audit (tests/test_spec_audit.py has every case of its own)
    "audit-spec-table": c(lambda f: ["audit", BATCHES_SPEC, f.text("orders.csv", "id\n1\n")], "orders.csv",
                          "no table 'orders'"),
    "audit-spec-value": c(lambda f: ["audit", BATCHES_SPEC, f.text("jobs.csv", "id,batch_id,done\n1,1,maybe\n")],
                          "jobs.csv:2", "done", "'maybe'"),
    "audit-spec-file-option": c(lambda f: ["audit", BATCHES_SPEC, f.text("jobs.csv", "id,batch_id,done\n"), "--now",
                                           "2025-09-30 09:00:00"], "--now", "wavesim audit FILE"),
    # -- malformed scenario files (TOML)
    "toml-syntax": c(lambda f: ["run", "--scenario", f.text("s.toml", "waves = [1\n")], "s.toml", "not valid TOML"),
    "toml-unknown-key": c(lambda f: ["run", "--scenario", f.text("s.toml", "bogus = 1\n")],
                          "'bogus'", "s.toml", "known:", "wave_size"),
    "toml-table": c(lambda f: ["run", "--scenario", f.text("s.toml", "[waves]\nx = 1\n")],
                    "'waves'", "plain value"),
    "toml-wrong-type": c(lambda f: ["run", "--scenario", f.text("s.toml", 'waves = "ten"\n')],
                         "waves", "whole number", "'ten'"),
    "toml-array": c(lambda f: ["run", "--scenario", f.text("s.toml", "workers = [1, 2]\n")], "workers", "[1, 2]"),
    "toml-bool": c(lambda f: ["run", "--scenario", f.text("s.toml", "threshold = true\n")], "threshold", "True"),
    "toml-nan": c(lambda f: ["run", "--scenario", f.text("s.toml", "db_read_ms = nan\n")], "db_read_ms", "got nan"),
    "toml-preset": c(lambda f: ["run", "--scenario", f.text("s.toml", 'preset = "bogus"\n')],
                     "'bogus'", "incident"),
    "toml-policy": c(lambda f: ["compare", "--scenario", f.text("s.toml", 'policy = "bogus"\n')], *POLICY),
    "toml-sweep": c(lambda f: ["sweep", "--out", "x.csv", "--scenario", f.text("s.toml", "threshold = 0\n")],
                    "threshold", "got 0"),
    # -- malformed JSON (replay) and CSV / JSON Lines (audit, a sweep's file to resume)
    "replay-not-json": c(lambda f: ["replay", f.text("t.json", '{"policy": \n')], "t.json", "not JSON", "line 2"),
    "replay-not-object": c(lambda f: ["replay", f.text("t.json", "[1, 2]")], "t.json", "JSON object"),
    "replay-not-counterexample": c(lambda f: ["replay", f.text("t.json", "{}")],
                                   "t.json", "not a wavesim counterexample"),
    "audit-csv-fields": c(lambda f: ["audit", f.text("a.csv", HEADER + '1,1,-1,completed,"2025-09-30 09:00:00\n')],
                          "a.csv", "no usable rows", "line 2", "fields"),
    "audit-csv-columns": c(lambda f: ["audit", f.text("a.csv", "job_id,wave\n1,2\n")],
                           "a.csv", "dependency_level", "needs job_id"),
    "audit-csv-empty": c(lambda f: ["audit", f.text("a.csv", "")], "a.csv"),
    "audit-jsonl": c(lambda f: ["audit", f.text("a.jsonl", '{"job_id": 1\n{"job_id": 2\n')], "a.jsonl", "job_id"),
    "sweep-resume-csv": c(lambda f: ["sweep", "--out", f.text("s.csv", "job,wave\n1,2\n"), "--seeds", "1", *TINY],
                          "s.csv", "columns"),
    "sweep-resume-jsonl": c(lambda f: ["sweep", "--out", f.text("s.jsonl", "not json\n"), "--seeds", "1", *TINY],
                            "s.jsonl", "line 1", "not JSON"),
    # -- unreadable inputs
    "run-scenario-missing": c(lambda f: ["run", "--scenario", f.absent("s.toml")], "s.toml", "no such file"),
    "run-scenario-folder": c(lambda f: ["run", "--scenario", f.folder()], "a-folder", "folder"),
    "run-scenario-binary": c(lambda f: ["run", "--scenario", f.bytes("s.toml", b"\xff\xfe\x00waves")],
                             "s.toml", "UTF-8"),
    "run-scenario-unreadable": c(lambda f: ["run", "--scenario", f.unreadable()], "unreadable.txt", "cannot read"),
    "faults-scenario-syntax": c(lambda f: ["faults", "--scenario", f.text("s.toml", "waves = \n")],
                               "s.toml", "not valid TOML"),
    "faults-scenario-missing": c(lambda f: ["faults", "--scenario", f.absent("s.toml")], "s.toml", "no such file"),
    "compare-scenario-missing": c(lambda f: ["compare", "--scenario", f.absent("s.toml")], "s.toml", "no such file"),
    "sweep-scenario-binary": c(lambda f: ["sweep", "--out", "x.csv", "--scenario", f.bytes("s.toml", b"\xff")],
                               "s.toml", "UTF-8"),
    "audit-missing": c(lambda f: ["audit", f.absent("a.csv")], "a.csv", "no such file"),
    "audit-folder": c(lambda f: ["audit", f.folder()], "a-folder", "directory"),
    "audit-binary": c(lambda f: ["audit", f.bytes("a.csv", b"\xff\xfe\x00")], "a.csv", "UTF-8"),
    "audit-unreadable": c(lambda f: ["audit", f.unreadable()], "unreadable.txt", "cannot read"),
    "audit-under-file": c(lambda f: ["audit", f.under_file("a.csv")], "a.csv", "cannot read"),
    "replay-missing": c(lambda f: ["replay", f.absent("t.json")], "t.json", "no such file"),
    "replay-folder": c(lambda f: ["replay", f.folder()], "a-folder", "directory"),
    "replay-binary": c(lambda f: ["replay", f.bytes("t.json", b"\xff\xfe")], "t.json", "UTF-8"),
    "replay-unreadable": c(lambda f: ["replay", f.unreadable()], "unreadable.txt", "cannot read"),
}

#: Cases that name an output file: (args, words, the output file's path as it appears in args).
OUTPUT_CASES: dict[str, tuple[Callable[[Files], list[str]], tuple[str, ...]]] = {
    "run-csv-missing-folder": (lambda f: ["run", *TINY, "--csv", f.missing("w.csv")], ("w.csv", "does not exist")),
    "run-csv-folder": (lambda f: ["run", *TINY, "--csv", f.folder()], ("a-folder", "directory")),
    "run-csv-readonly": (lambda f: ["run", *TINY, "--csv", f.readonly("w.csv")], ("w.csv", "cannot write")),
    "run-csv-under-file": (lambda f: ["run", *TINY, "--csv", f.under_file("w.csv")], ("w.csv", "does not exist")),
    "run-csv-suffix": (lambda f: ["run", *TINY, "--csv", f.absent("w.txt")], ("w.txt", ".csv")),
    "run-plot-missing-folder": (lambda f: ["run", *TINY, "--plot", f.missing("p.png")], ("p.png", "does not exist")),
    "run-plot-readonly": (lambda f: ["run", *TINY, "--plot", f.readonly("p.png")], ("p.png", "cannot write")),
    "run-plot-suffix": (lambda f: ["run", *TINY, "--plot", f.absent("p.gif")], ("p.gif", ".png")),
    "compare-plot-missing-folder": (lambda f: ["compare", *TINY, "--seeds", "1", "--plot", f.missing("p.png")],
                                    ("p.png", "does not exist")),
    "compare-plot-readonly": (lambda f: ["compare", *TINY, "--seeds", "1", "--policy", "atomic",
                                         "--plot", f.readonly("p.svg")], ("p.svg", "cannot write")),
    "compare-plot-folder": (lambda f: ["compare", "--plot", f.folder()], ("a-folder", "directory")),
    "audit-plot-missing-folder": (lambda f: ["audit", f.text("a.csv", ONE_WAVE),
                                             "--plot", f.missing("p.png")], ("p.png", "does not exist")),
    "audit-plot-readonly": (lambda f: ["audit", f.text("a.csv", ONE_WAVE),
                                       "--plot", f.readonly("p.png")], ("p.png", "cannot write")),
    "audit-plot-suffix": (lambda f: ["audit", f.text("a.csv", ONE_WAVE), "--plot", f.absent("p.txt")],
                          ("p.txt", ".png")),
    "check-trace-missing-folder": (lambda f: ["check", "--policy", "original", "--trace-out", f.missing("t.json")],
                                   ("t.json", "does not exist")),
    "check-trace-readonly": (lambda f: ["check", "--policy", "original", "--trace-out", f.readonly("t.json")],
                             ("t.json", "cannot write")),
    "check-trace-folder": (lambda f: ["check", "--policy", "original", "--trace-out", f.folder()],
                           ("a-folder", "directory")),
    "sweep-out-missing-folder": (lambda f: ["sweep", *TINY, "--seeds", "1", "--out", f.missing("s.csv")],
                                 ("s.csv", "does not exist")),
    "sweep-out-readonly": (lambda f: ["sweep", *TINY, "--seeds", "1", "--out", f.readonly("s.csv")],
                           ("s.csv", "cannot write")),
    "sweep-out-folder": (lambda f: ["sweep", *TINY, "--seeds", "1", "--out", f.folder()], ("a-folder", "directory")),
    "sweep-out-suffix": (lambda f: ["sweep", *TINY, "--seeds", "1", "--out", f.absent("s.txt")], ("s.txt", ".csv")),
    "sweep-plot-out-suffix": (lambda f: ["sweep", *TINY, "--seeds", "1", "--out", f.absent("s.csv"), "--param",
                                         "workers=1", "--plot", "makespan_s", "--plot-out", f.absent("p.txt")],
                              ("p.txt", ".png")),
    "faults-out-suffix": (lambda f: ["faults", "--out", f.absent("m.txt")], ("m.txt", ".json")),
    "faults-out-missing-folder": (lambda f: ["faults", "--out", f.missing("m.json")], ("m.json", "does not exist")),
    "faults-out-folder": (lambda f: ["faults", "--out", f.folder()], ("a-folder", "directory")),
    "faults-out-readonly": (lambda f: ["faults", *TINY, "--seeds", "1", "--policy", "atomic", "--fault", "none",
                                       "--out", f.readonly("m.json")], ("m.json", "cannot write")),
    "report-out-missing-folder": (lambda f: ["report", "--quick", "--out", f.missing("rep")],
                                  ("rep", "does not exist")),
    "report-out-readonly": (lambda f: ["report", "--quick", "--out", f.readonly("rep")], ("rep", "cannot write")),
}

#: Bad input given together with an output file that already exists: the file must come out unchanged.
SPOILERS: dict[str, tuple[list[str], str]] = {
    "run-csv": (["run", *TINY, "--threshold", "101", "--csv"], "out.csv"),
    "run-plot": (["run", *TINY, "--policy", "bogus", "--plot"], "out.png"),
    "compare-plot": (["compare", *TINY, "--db-read-ms", "nan", "--plot"], "out.png"),
    "check-trace": (["check", "--policy", "original", "--waves", "0", "--trace-out"], "out.json"),
    "sweep-out": (["sweep", *TINY, "--param", "workers=0", "--out"], "out.csv"),
    "sweep-out-jsonl": (["sweep", *TINY, "--scheduler", "nowhere", "--out"], "out.jsonl"),
    "faults-out": (["faults", "--fault", "bogus", "--out"], "out.json"),
    "report-out-is-a-file": (["report", "--quick", "--out"], "out.md"),
}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Files:
    monkeypatch.chdir(tmp_path)  # relative outputs such as x.csv land here
    return Files(tmp_path)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_exit_2(name: str, files: Files) -> None:
    case = CASES[name]
    args = case.args(files)
    before = _listing(files.root)
    assert_one_line(invoke(args), *case.words)
    assert _listing(files.root) == before  # no output, no temporary file left behind


@pytest.mark.parametrize("name", list(OUTPUT_CASES))
def test_unwritable_output_is_one_line_and_leaves_no_file(name: str, files: Files) -> None:
    make, words = OUTPUT_CASES[name]
    args = make(files)
    target = Path(args[-1])  # every case names its output last
    before = _listing(files.root)
    assert_one_line(invoke(args), *words)
    assert _listing(files.root) == before
    assert not target.is_file()


@pytest.mark.parametrize("name", list(SPOILERS))
def test_bad_input_leaves_an_existing_output_file_as_it_was(name: str, files: Files) -> None:
    args, out = SPOILERS[name]
    target = files.root / out
    target.write_bytes(b"earlier output\x00\xff\n")
    assert_one_line(invoke([*args, str(target)]))
    assert target.read_bytes() == b"earlier output\x00\xff\n"
    assert _listing(files.root) == [out]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = files.root / "waves.csv"
    target.write_text("the previous run\n")

    def half_then_full_disk(path: Path, text: str) -> None:
        path.write_text(text[: len(text) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_command, "_write_text", half_then_full_disk)
    line = assert_one_line(invoke(["run", *TINY, "--csv", str(target)]))
    assert line == f"error: cannot write {target}: No space left on device"
    assert target.read_text() == "the previous run\n"
    assert _listing(files.root) == ["waves.csv"]


def test_an_unexpected_exception_is_one_line_with_exit_70(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_scenario: object) -> None:
        raise RuntimeError("boom\non two lines")

    monkeypatch.delenv("WAVESIM_DEBUG", raising=False)
    monkeypatch.setattr(run_command, "run_one", broken)
    line = assert_one_line(invoke(["run", *TINY]), code=INTERNAL)  # never 1, which is a verdict
    assert line == "error: internal error: RuntimeError: boom on two lines (please report)"


def test_wavesim_debug_lets_the_exception_through(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_scenario: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setenv("WAVESIM_DEBUG", "1")
    monkeypatch.setattr(run_command, "run_one", broken)
    result = invoke(["run", *TINY])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError) and str(result.exception) == "boom"


def test_help_version_and_good_input_are_untouched() -> None:
    assert invoke(["--version"]).stdout.startswith("wavesim, version ")
    assert invoke(["run", "--help"]).stdout.startswith("Usage: ")
    demo = invoke(["demo", "--policy", "guarded"])
    assert (demo.exit_code, demo.stderr) == (VIOLATED, "")  # its story ends in the stall
    assert demo.stdout.splitlines()[0] == "policy guarded: 5 waves x 2 batches at 50%"
