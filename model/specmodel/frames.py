"""Runs merged by their Python frames: the generic stand-in for the built-in checker's ``futures``.

A run is stored as the results it was sent, but its future depends only on where its generator stands
and on the local variables it will still read. Two runs of the same job, payload and try whose generator
frames stand at the same instruction with the same live locals behave alike from there on, whatever
they were sent before: every spec program is deterministic given those. So a state may keep either one.
Each run is replaced by the first history met with its frame key, which gives the same verdicts and the
same shortest lengths.

The key is read off the suspended generator (and each generator it delegates to with ``yield from``):

- the code object and the offset it is suspended at;
- the values of the locals that are live there. A bytecode liveness analysis decides which locals are
  live: a local no path reads again before writing it is dead. Cell and free variables are always live.

A frame has no key, and the run keeps its whole history, in three cases:

- the value stack holds more than the yielded value: a ``for`` loop's iterator, a ``with`` block's exit,
  a half-evaluated expression, an exception being handled;
- a live value cannot be hashed;
- the bytecode holds an instruction this analysis does not know.

Values are compared by type and equality.
"""

from __future__ import annotations

import dis
from collections.abc import Hashable
from functools import cache
from types import CodeType
from typing import Any

__all__ = ["frame_key"]

_STOPS = {"RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE", "JUMP_FORWARD", "JUMP_BACKWARD",
          "JUMP_BACKWARD_NO_INTERRUPT", "JUMP", "JUMP_NO_INTERRUPT", "JUMP_ABSOLUTE"}


@cache
def _analysis(code: CodeType) -> tuple[dict[int, frozenset[str]], frozenset[str]] | None:
    """Per safe yield offset, the locals live after it resumes; and the cell/free variables. None when
    the code cannot be analysed."""
    try:
        instructions = list(dis.get_instructions(code))
        entries = dis.Bytecode(code).exception_entries  # type: ignore[attr-defined]
    except Exception:
        return None
    at = {ins.offset: i for i, ins in enumerate(instructions)}

    def successors(i: int) -> list[int]:
        ins = instructions[i]
        out = []
        if ins.opname not in _STOPS and i + 1 < len(instructions):
            out.append(i + 1)
        if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
            target = ins.argval
            if isinstance(target, int) and target in at:
                out.append(at[target])
        return out

    handlers: dict[int, list[tuple[int, int]]] = {}  # instruction -> (handler index, handler depth)
    for e in entries:
        for i, ins in enumerate(instructions):
            if e.start <= ins.offset < e.end and e.target in at:
                handlers.setdefault(i, []).append((at[e.target], e.depth + 1 + int(e.lasti)))

    # stack depth before each instruction, from the first RESUME on (a generator starts with an empty stack)
    start = next((i for i, ins in enumerate(instructions) if ins.opname == "RESUME"), None)
    if start is None:
        return None
    depth: dict[int, int] = {start: 0}
    work = [start]
    while work:
        i = work.pop()
        ins = instructions[i]
        is_jump = ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs
        for j in successors(i):
            taken = is_jump and instructions[j].offset == ins.argval
            try:
                effect = dis.stack_effect(ins.opcode, ins.arg if ins.opcode >= dis.HAVE_ARGUMENT else None,
                                          jump=taken)
            except (ValueError, TypeError):
                return None
            d = depth[i] + effect
            if depth.get(j, d) != d or d < 0:
                return None  # an inconsistency this simple analysis does not follow: no merging here
            if j not in depth:
                depth[j] = d
                work.append(j)
        for h, d in handlers.get(i, ()):
            if h not in depth:
                depth[h] = d
                work.append(h)

    # liveness of locals, backwards, with an edge from every protected instruction to its handler
    uses: list[set[str]] = []
    kills: list[set[str]] = []
    for ins in instructions:
        names = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
        op = ins.opname
        if op.startswith("LOAD_FAST") or op.startswith("STORE_FAST_LOAD_FAST"):
            uses.append({n for n in names if isinstance(n, str)})
            kills.append(set())
        elif op.startswith("STORE_FAST") or op.startswith("DELETE_FAST"):
            uses.append(set())
            kills.append({n for n in names if isinstance(n, str)})
        else:
            if "FAST" in op:
                return None
            uses.append(set())
            kills.append(set())
    live_in: list[frozenset[str]] = [frozenset()] * len(instructions)
    changed = True
    while changed:
        changed = False
        for i in reversed(range(len(instructions))):
            out: set[str] = set()
            for j in successors(i):
                out |= live_in[j]
            for h, _ in handlers.get(i, ()):
                out |= live_in[h]
            new = frozenset(uses[i] | (out - kills[i]))
            if new != live_in[i]:
                live_in[i] = new
                changed = True
    safe: dict[int, frozenset[str]] = {}
    for i, ins in enumerate(instructions):
        if ins.opname != "YIELD_VALUE" or i not in depth or i + 1 >= len(instructions):
            continue
        delegating = i > 0 and instructions[i - 1].opname == "SEND"
        if depth[i] == 1 or (delegating and depth[i] == 2):
            safe[ins.offset] = live_in[i + 1]
    return safe, frozenset(code.co_cellvars) | frozenset(code.co_freevars)


def _value(value: Any) -> Hashable:
    hash(value)  # raises TypeError for an unhashable value
    return (type(value), value)


def frame_key(gen: Any) -> tuple[Any, ...] | None:
    """Where ``gen`` (and every generator it delegates to) stands and its live locals; None when any
    frame cannot be keyed."""
    key: list[Any] = []
    while gen is not None:
        frame = getattr(gen, "gi_frame", None)
        if frame is None:
            return None
        found = _analysis(frame.f_code)
        if found is None:
            return None
        safe, always = found
        live = safe.get(frame.f_lasti)
        if live is None:
            return None
        f_locals = frame.f_locals
        try:
            values = tuple((n, _value(f_locals[n])) for n in sorted(live | always) if n in f_locals)
        except TypeError:
            return None
        key.append((frame.f_code, frame.f_lasti, values))
        gen = getattr(gen, "gi_yieldfrom", None)
        if gen is not None and not hasattr(gen, "gi_frame"):
            return None  # delegating to an iterator that is not a generator
    return tuple(key)
