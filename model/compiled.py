"""The compiled engine: ``model/engine.c`` built with the machine's C compiler, run through ctypes.

The C search holds the states, the hash set, the queue of the breadth-first
search, the parent pointers and the edges for liveness; Python keeps the
meaning. Every question about the coordinator (the rows after a handler step
or a batch record, what a run waits on, the verdicts on a wave table, which
action kinds may be ample) is answered by the same ``Spec``, ``coordinator``
properties and ``model.reduction`` functions the Python search uses, once per
distinct question (the C side memoises the answers by small ids). So the two
engines explore the same graph: with the symmetry off they store the same
states in the same order, and with it on the same number of them (each keeps
one representative per multiset of runs, sorted by a different key).

The library is built once per source and compiler into a cache folder
(``WAVESIM_CACHE``, else ``$XDG_CACHE_HOME/wavesim`` or ``~/.cache/wavesim``)
and reused. Without a C compiler ``unavailable()`` says why and the checker
uses the Python engine.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

from coordinator import PROPERTY_NAMES
from coordinator import properties as props
from coordinator.effects import EnqueueBatches, ScheduleTrigger
from model.actions import Label, Spec
from model.invariants import RECONCILER_IS_WORK, STATE_CHECKS, TRANSITION_CHECKS, is_done
from model.reduction import EFFECT_FOOTPRINTS, safe_kinds
from model.settled import settled
from model.state import Row, Run, State, is_reconciler_run, run_key

__all__ = ["EFFECT_KINDS", "KINDS", "CompiledSearch", "unavailable"]

SOURCE = Path(__file__).with_name("engine.c")
FLAGS = ("-O2", "-shared", "-fPIC", "-std=c11", "-D_POSIX_C_SOURCE=200809L")

#: Action names by the C engine's kind numbers (``K_*`` in engine.c).
KINDS = ("init", "worker_take", "batch_finish", "worker_crash", "handler_step", "handler_crash", "listener_start",
         "event_duplicate", "event_lose", "trigger_fire", "reconciler_tick")
#: The DB operations a handler step may perform, by the C engine's effect numbers.
EFFECT_KINDS = tuple(EFFECT_FOOTPRINTS)
#: Results of ``ws_search``.
_RESULTS = {0: "complete", 1: "decided", 2: "time", 3: "memory", 4: "states"}
NONE32 = 0xFFFFFFFF
T = TypeVar("T")

_ROWS_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32)
_RECORD_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)
_STEP_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32,
                            ctypes.POINTER(ctypes.c_uint32))
_RUN_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint32,
                           ctypes.POINTER(ctypes.c_uint32))
_PAIR_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)
_SAFE_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32)
_PROGRESS_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint32)


class _State(ctypes.Structure):
    """``st_t`` of engine.c: one stored state (ids of its interned parts, and its counters)."""

    _fields_ = [("rows", ctypes.c_uint32), ("queue", ctypes.c_uint32), ("events", ctypes.c_uint32),
                ("runs", ctypes.c_uint32), ("running", ctypes.c_uint32), ("delayed", ctypes.c_uint8),
                ("crashes", ctypes.c_uint8), ("dups", ctypes.c_uint8), ("losses", ctypes.c_uint8)]


_INTS = ("workers", "max_handlers", "crash_handlers", "reconciler", "reconciler_is_work", "tagged", "lease_held",
         "symmetric", "por", "probe", "settle", "queue_bound", "wave_size", "effect_read_claimed",
         "p_queue", "p_threshold", "p_stall", "p_completes")


class _Config(ctypes.Structure):
    """``config_t`` of engine.c, field for field."""

    _fields_ = [*((n, ctypes.c_int) for n in _INTS),
                ("state_bits", ctypes.c_uint32), ("trigger_run", ctypes.c_uint32 * 8),
                ("reconciler_run", ctypes.c_uint32), ("time_limit", ctypes.c_double),
                ("max_memory_mb", ctypes.c_double), ("max_states", ctypes.c_uint64), ("probe_walks", ctypes.c_int),
                ("probe_steps", ctypes.c_int), ("probe_share", ctypes.c_double), ("cb_rows", _ROWS_CB),
                ("cb_record", _RECORD_CB), ("cb_step", _STEP_CB), ("cb_run", _RUN_CB), ("cb_pair", _PAIR_CB),
                ("cb_safe", _SAFE_CB), ("cb_progress", _PROGRESS_CB)]


def _cache_dir() -> Path:
    given = os.environ.get("WAVESIM_CACHE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wavesim"


def _compiler() -> str | None:
    """The C compiler: ``CC`` when set (a name on PATH or a path), else cc, gcc or clang."""
    given = os.environ.get("CC")
    if given:
        return shutil.which(given)
    return shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


@cache
def _library() -> ctypes.CDLL | str:
    """The built engine, or why it cannot be had."""
    if not sys.platform.startswith("linux") and sys.platform != "darwin":
        return f"the compiled engine is built for Linux and macOS, not {sys.platform}"
    compiler = _compiler()
    if compiler is None:
        return "no C compiler found (install cc, or set CC to one)"
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source + " ".join((compiler, *FLAGS)).encode()).hexdigest()[:16]
    for folder in (_cache_dir(), Path(tempfile.gettempdir()) / f"wavesim-{os.getuid()}"):
        target = folder / f"engine-{digest}.so"
        if not target.exists():
            # each process builds into a file of its own and renames it into place (atomic on one file system):
            # processes building at once (parallel test workers, two checks) never load a half-written library
            tmp = None
            try:
                folder.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f"engine-{digest}-", suffix=".so.part", dir=folder)
                os.close(fd)
                built = subprocess.run([compiler, *FLAGS, "-o", tmp, str(SOURCE)], capture_output=True, text=True,
                                       check=False)
                if built.returncode != 0:
                    lines = built.stderr.strip().splitlines() or [f"exit code {built.returncode}"]
                    return f"the C compiler {compiler} failed on model/engine.c: {lines[0]}"
                os.replace(tmp, target)  # another process may build the same file: either copy is whole
                tmp = None
            except OSError:
                continue  # not writable: the next folder
            finally:
                if tmp is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
        lib = ctypes.CDLL(str(target))
        _declare(lib)
        if lib.ws_state_size() != ctypes.sizeof(_State) or lib.ws_config_size() != ctypes.sizeof(_Config):
            return "the compiled engine's structures do not match model/compiled.py"
        return lib
    return "no writable folder for the compiled engine (set WAVESIM_CACHE)"


def _declare(lib: ctypes.CDLL) -> None:
    u32, p32 = ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32)
    lib.ws_reset.argtypes, lib.ws_reset.restype = [ctypes.POINTER(_Config)], ctypes.c_int
    lib.ws_intern.argtypes, lib.ws_intern.restype = [ctypes.c_char_p, u32], u32
    lib.ws_sequence.argtypes, lib.ws_sequence.restype = [u32, ctypes.c_char_p, u32], u32
    lib.ws_search.argtypes, lib.ws_search.restype = [ctypes.POINTER(_State), u32, p32], ctypes.c_int
    lib.ws_first_trap.argtypes, lib.ws_first_trap.restype = [], u32
    lib.ws_count.argtypes, lib.ws_count.restype = [ctypes.c_int], ctypes.c_uint64
    lib.ws_state.argtypes, lib.ws_state.restype = [u32, ctypes.POINTER(_State), p32, p32], None
    lib.ws_found.argtypes = [ctypes.c_int, p32, p32, ctypes.POINTER(_State), p32]
    lib.ws_found.restype = ctypes.c_int
    lib.ws_walk.argtypes, lib.ws_walk.restype = [ctypes.c_int, u32, ctypes.POINTER(_State), p32], None
    lib.ws_state_size.restype = lib.ws_config_size.restype = ctypes.c_size_t
    lib.ws_release.restype = None


def unavailable() -> str | None:
    """Why the compiled engine cannot run here, or None when it can."""
    lib = _library()
    return lib if isinstance(lib, str) else None


class _Ids(Generic[T]):
    """Small ids for values, in the order first seen (the ids the engine stores)."""

    __slots__ = ("_ids", "_values")

    def __init__(self) -> None:
        self._ids: dict[T, int] = {}
        self._values: list[T] = []

    def id(self, value: T) -> int:
        found = self._ids.get(value)
        if found is None:
            found = self._ids[value] = len(self._values)
            self._values.append(value)
        return found

    def __getitem__(self, index: int) -> T:
        return self._values[index]


class CompiledSearch:
    """One breadth-first search on the compiled engine; ``run`` fills in what ``model.checker`` reports.

    Python interns the rows of the wave table and the handler runs (ids in the
    order first seen) and answers the engine's callbacks with ``spec``.
    """

    def __init__(self, spec: Spec, checked: tuple[str, ...], *, por: bool, probe: tuple[int, int, float] | None,
                 max_states: int | None, time_limit: float, max_memory_mb: float,
                 progress: Callable[[int], None] | None) -> None:
        lib = _library()
        assert not isinstance(lib, str), lib
        if not spec.scope.fifo:
            raise ValueError("the compiled engine runs a FIFO queue only")
        self.lib, self.spec = lib, spec
        self.rows: _Ids[tuple[Row, ...]] = _Ids()
        self.runs: _Ids[Run] = _Ids()
        self.error: BaseException | None = None
        self._progress = progress
        scope, policy = spec.scope, spec.policy
        index = {n: i for i, n in enumerate(PROPERTY_NAMES)}
        self._checked = checked
        self._bits = {index[n] for n in STATE_CHECKS if n in checked and n != "queue_bounded"}
        self._callbacks = (
            _ROWS_CB(self._guard(self._rows_info)), _RECORD_CB(self._guard(self._record)),
            _STEP_CB(self._guard(self._step)), _RUN_CB(self._guard(self._run_info)),
            _PAIR_CB(self._guard(self._pair)), _SAFE_CB(self._guard(self._safe)),
            _PROGRESS_CB(self._guard(self._tick)),
        )
        config = _Config(
            workers=scope.workers, max_handlers=scope.max_handlers, crash_handlers=int(scope.crash_handlers),
            reconciler=int(policy.reconciler_period_s is not None),
            reconciler_is_work=int(policy.reconciler_period_s is not None and RECONCILER_IS_WORK),
            tagged=int(spec.tagged), lease_held=int(spec.lease_held), symmetric=int(spec.symmetric), por=int(por),
            settle=int(spec.settle),
            probe=int(probe is not None), queue_bound=props.queue_bound(spec.config), wave_size=scope.wave_size,
            effect_read_claimed=_effect_index("ReadClaimedWave"), p_queue=index["queue_bounded"],
            p_threshold=index["threshold_respected"], p_stall=index["no_stall"],
            p_completes=index["import_completes"], state_bits=sum(1 << b for b in self._bits),
            time_limit=time_limit, max_memory_mb=max_memory_mb, max_states=max_states or 0,
            probe_walks=probe[0] if probe else 0, probe_steps=probe[1] if probe else 0,
            probe_share=probe[2] if probe else 0.0,
        )
        config.cb_rows, config.cb_record, config.cb_step, config.cb_run, config.cb_pair, config.cb_safe, \
            config.cb_progress = self._callbacks
        for t in range(min(scope.waves, 7) + 1):
            config.trigger_run[t] = self.runs.id(spec.started(t))
        config.reconciler_run = self.runs.id(spec.started(0, reconciler=True))
        if lib.ws_reset(ctypes.byref(config)) != 0:
            raise MemoryError("the compiled engine could not allocate its tables")
        self._config = config  # keeps the callbacks alive while the engine holds them
        self.open = sum(1 << index[n] for n in checked)

    # ---- the answers the engine asks for ----

    def _guard(self, fn: Callable[..., int]) -> Callable[..., int]:
        def call(*args: object) -> int:
            if self.error is not None:
                return NONE32
            try:
                return fn(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised by run() once the engine returns
                self.error = exc
                return NONE32
        return call

    def _rows_info(self, rid: int) -> int:
        state = _bare(self.rows[rid])
        names = PROPERTY_NAMES
        bits = sum(1 << b for b in self._bits if STATE_CHECKS[names[b]](state, self.spec.config) is not None)
        done = is_done(state)
        closed = 0
        if self.spec.settle:
            safe = settled(self.rows[rid], self.spec.config)
            closed = sum(1 << i for i, n in enumerate(PROPERTY_NAMES) if n in safe)
        return bits | closed << 8 | int(done) << 30 | 1 << 31

    def _record(self, rid: int, wave: int, batch: int) -> int:
        return self.rows.id(self.spec.record(self.rows[rid], wave, batch))

    def _step(self, rid: int, run_id: int, held: int, out: ctypes._Pointer[ctypes.c_uint32]) -> int:
        waves = frozenset(w for w in range(1, 8) if held >> w & 1)
        new_rows, effect, result, after = self.spec.step(self.rows[rid], self.runs[run_id], waves)
        out[0] = self.rows.id(new_rows)
        out[1] = NONE32 if after is None else self.runs.id(after)
        out[2] = effect.wave if isinstance(effect, EnqueueBatches) and result else 0
        out[3] = int(isinstance(effect, ScheduleTrigger))
        return 0

    def _run_info(self, run_id: int, key: ctypes._Pointer[ctypes.c_uint8], cap: int,
                  length: ctypes._Pointer[ctypes.c_uint32]) -> int:
        run = self.runs[run_id]
        effect = self.spec.next_effect(run)
        held = self.spec.holds_claim(run) or 0
        text = run_key(run).encode("ascii")  # the order model.state.canonical sorts runs in
        length[0] = len(text)
        if len(text) <= cap:
            ctypes.memmove(key, text, len(text))
        return EFFECT_KINDS.index(type(effect)) | held << 8 | int(is_reconciler_run(run)) << 16 | 1 << 31

    def _pair(self, before: int, after: int) -> int:
        check = TRANSITION_CHECKS["threshold_respected"]
        return int(check(_bare(self.rows[before]), _bare(self.rows[after]), self.spec.config) is not None)

    def _safe(self, crashes: int, duplicates: int, losses: int, open_bits: int) -> int:
        wanted = frozenset(n for i, n in enumerate(PROPERTY_NAMES) if open_bits >> i & 1)
        policy = self.spec.policy
        kinds = safe_kinds(policy.reconciler_period_s is not None, self.spec.scope.fifo,
                           (crashes, duplicates, losses), wanted, self.spec.tagged)
        bits = 0
        for kind in kinds:
            name, _, effect = kind.partition(":")
            bits |= 1 << (16 + _effect_index(effect) if effect else KINDS.index(name))
        return bits

    def _tick(self, states: int) -> int:
        if self._progress is not None:
            self._progress(states)
        return 0

    # ---- encoding states both ways ----

    def encode(self, state: State) -> _State:
        lib = self.lib
        runs = b"".join(self.runs.id(r).to_bytes(4, sys.byteorder) for r in state.runs)
        return _State(
            rows=self.rows.id(state.rows), queue=lib.ws_intern(_jobs(state.queue), len(state.queue)),
            events=lib.ws_intern(bytes(state.events), len(state.events)), runs=lib.ws_intern(runs, len(runs)),
            running=lib.ws_intern(_jobs(state.running), len(state.running)), delayed=state.delayed,
            crashes=state.crashes, dups=state.duplicates, losses=state.losses,
        )

    def _sequence(self, sid: int) -> bytes:
        size = self.lib.ws_sequence(sid, None, 0)
        if size == NONE32:
            raise ValueError(f"the compiled engine holds no sequence {sid}")
        buf = ctypes.create_string_buffer(max(size, 1))
        self.lib.ws_sequence(sid, buf, size)
        return buf.raw[:size]

    def decode(self, raw: _State) -> State:
        runs = self._sequence(raw.runs)
        state = State(
            rows=self.rows[raw.rows], queue=_unjobs(self._sequence(raw.queue)),
            running=_unjobs(self._sequence(raw.running)), events=tuple(self._sequence(raw.events)),
            delayed=raw.delayed,
            runs=tuple(self.runs[int.from_bytes(runs[k:k + 4], sys.byteorder)] for k in range(0, len(runs), 4)),
            crashes=raw.crashes, duplicates=raw.dups, losses=raw.losses,
        )
        return self.spec.reduced(state)  # the Python engine's representative of the same multisets

    def label(self, code: int) -> Label:
        kind, a, b = code >> 16, code >> 8 & 0xFF, code & 0xFF
        name = KINDS[kind]
        if name in ("batch_finish", "worker_crash"):
            return (name, a, b)
        if name in ("handler_step", "handler_crash"):
            return (name, a)
        if name == "worker_take":
            return (name, 0)
        return (name,)

    # ---- the search ----

    def run(self, first: State) -> str:
        """Search from ``first``; how it ended (``complete``, ``decided``, or the budget's name)."""
        error = ctypes.c_uint32(0)
        code = self.lib.ws_search(ctypes.byref(self.encode(first)), self.open, ctypes.byref(error))
        if self.error is not None:
            raise self.error
        if code < 0:
            if error.value == 2:
                raise ValueError("a queue or event list grew past the compiled engine's 4096 entries: "
                                 "use --engine python for this scope")
            raise MemoryError("the compiled engine ran out of memory")
        return _RESULTS[code]

    def count(self, what: str) -> int:
        return int(self.lib.ws_count(("states", "transitions", "depth", "peak_kb", "expanded", "settled").index(what)))

    def path_to(self, sid: int) -> tuple[list[State], list[Label]]:
        raw, up, lab = _State(), ctypes.c_uint32(), ctypes.c_uint32()
        states: list[State] = []
        labels: list[Label] = []
        while True:
            self.lib.ws_state(sid, ctypes.byref(raw), ctypes.byref(up), ctypes.byref(lab))
            states.append(self.decode(raw))
            if up.value == NONE32:
                break
            labels.append(self.label(lab.value))
            sid = up.value
        states.reverse()
        labels.reverse()
        return states, labels

    def found(self, name: str) -> tuple[list[State], list[Label], State | None] | None:
        """The path to the violation of ``name`` (and for a transition, the state after it), or None."""
        prop = PROPERTY_NAMES.index(name)
        sid, lab, after, length = ctypes.c_uint32(), ctypes.c_uint32(), _State(), ctypes.c_uint32()
        kind = self.lib.ws_found(prop, ctypes.byref(sid), ctypes.byref(lab), ctypes.byref(after), ctypes.byref(length))
        if kind == 0:
            return None
        if kind == 3:  # a probe walk
            states, labels = [], []
            raw, code = _State(), ctypes.c_uint32()
            for k in range(length.value):
                self.lib.ws_walk(prop, k, ctypes.byref(raw), ctypes.byref(code))
                states.append(self.decode(raw))
                if k:
                    labels.append(self.label(code.value))
            return states, labels, None
        states, labels = self.path_to(sid.value)
        if kind == 2:
            return states, labels + [self.label(lab.value)], self.decode(after)
        return states, labels, None

    def first_trap(self) -> int | None:
        trap = self.lib.ws_first_trap()
        if trap == NONE32 - 1:
            raise MemoryError("the compiled engine ran out of memory judging import_completes")
        return None if trap == NONE32 else int(trap)

    def close(self) -> None:
        self.lib.ws_release()


def _effect_index(name: str) -> int:
    return [t.__name__ for t in EFFECT_KINDS].index(name)


def _bare(rows: tuple[Row, ...]) -> State:
    """A state with these rows and nothing else (the rows' checks read only the table)."""
    return State(rows=rows, queue=(), running=(), events=(), delayed=0, runs=(), crashes=0, duplicates=0, losses=0)


def _jobs(jobs: tuple[tuple[int, int], ...]) -> bytes:
    return bytes(w << 3 | b for w, b in jobs)


def _unjobs(data: bytes) -> tuple[tuple[int, int], ...]:
    return tuple((c >> 3, c & 7) for c in data)

