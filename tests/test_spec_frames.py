"""Runs merged by their Python frames (model.specmodel.frames): exact, and only where the frame says all."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.specmodel import Model, check_spec
from model.specmodel.frames import frame_key
from model.specmodel.programs import Programs
from specfile.load import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "tests" / "fixtures" / "specs").glob("*.py")) + sorted((ROOT / "examples").glob("*.py"))


def outcome(path: Path, frames: bool, **scope: str) -> tuple[int, dict[str, object]]:
    spec = load_spec(path)
    search = check_spec(Model(spec, spec.scope_of(scope), frames=frames), por=False, probe=False)
    return search.states, {n: (search.holds(n), len(f.labels) if (f := search.found.get(n)) else None)
                           for n in search.checked}


@pytest.mark.parametrize("path", [p for p in SPECS if p.name != "refused.py"], ids=lambda p: p.name)
def test_merging_by_frames_keeps_every_verdict_and_shortest_length(path: Path) -> None:
    merged, plain = outcome(path, True), outcome(path, False)
    assert merged[1] == plain[1]
    assert merged[0] <= plain[0]


def test_a_dead_result_no_longer_tells_runs_apart() -> None:
    merged, plain = outcome(ROOT / "tests/fixtures/specs/reader.py", True), \
        outcome(ROOT / "tests/fixtures/specs/reader.py", False)
    assert merged[1] == plain[1] == {"all_counted": (True, None)}
    assert merged[0] < plain[0]


def test_the_pending_statement_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # broken on purpose: runs about to write different values look alike, and a correct spec fails
    path = ROOT / "tests/fixtures/specs/lostupdate.py"
    assert outcome(path, True, read="for-update")[1] == {"every_deposit_counted": (True, None)}
    real_init = Programs.__init__

    def blind(self: Programs, make: object, **kw: object) -> None:
        real_init(self, make, **{**kw, "op_key": lambda op, where: "any op"})  # type: ignore[arg-type]

    monkeypatch.setattr(Programs, "__init__", blind)
    assert outcome(path, True, read="for-update")[1]["every_deposit_counted"][0] is False


def _suspended(fn, *sends):  # type: ignore[no-untyped-def]
    gen = fn()
    next(gen)
    for value in sends:
        gen.send(value)
    return gen


def test_a_frame_key_keeps_live_locals_only() -> None:
    def program():  # type: ignore[no-untyped-def]
        a = yield 1
        b = yield 2
        yield a  # a is live at the second yield, b is not
        return b

    key_a1 = frame_key(_suspended(program, 10))
    key_a2 = frame_key(_suspended(program, 10))
    key_other = frame_key(_suspended(program, 11))
    assert key_a1 is not None and key_a1 == key_a2 and key_a1 != key_other
    names = [name for name, _ in key_a1[0][2]]
    assert names == ["a"]


@pytest.mark.parametrize("shape", ["for", "with", "expression"])
def test_a_frame_with_more_on_its_stack_has_no_key(shape: str) -> None:
    import contextlib

    def looping():  # type: ignore[no-untyped-def]
        for item in [1, 1]:  # noqa: UP028 - the loop's iterator on the stack is the point
            yield item

    def within():  # type: ignore[no-untyped-def]
        with contextlib.nullcontext():
            yield 1

    def half():  # type: ignore[no-untyped-def]
        total = (yield 1) + (yield 2)
        yield total

    fn = {"for": looping, "with": within, "expression": half}[shape]
    gen = fn()
    next(gen)
    if shape == "expression":
        gen.send(5)  # now suspended at the second yield, with 5 on the stack
    assert frame_key(gen) is None
