"""``report.md``: the incident measured, in Markdown, from ``ReportData``.

Every number in the prose is formatted in from the data; nothing is typed in
by hand except the write-up's own claims, which are quoted as claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coordinator import POLICIES, PROPERTY_NAMES
from coordinator.properties import queue_bound
from model.scope import Scope
from report.build import CheckResult, ReportData
from report.figures import FIGURES
from sim.compare import COUNT_LABELS

__all__ = ["HEADLINE", "check_command", "render"]

#: The figure shown first (and in the README) as ``headline.png``.
HEADLINE = "queue_depth"

#: The write-up's "Success Metrics", quoted.
BEFORE = ("30 waves dispatched simultaneously", "1,500+ jobs in queue", "3 manual queue restarts required")
AFTER = ("1 wave active at any time", "<= 50 jobs in queue (1 wave)", "zero manual interventions",
         "stable queue throughout import")


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}"


def _mmm(d: dict[str, Any]) -> str:
    """median [min-max]"""
    if d["min"] == d["max"]:
        return _num(d["median"])
    return f"{_num(d['median'])} [{_num(d['min'])}-{_num(d['max'])}]"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _share(k: int, n: int) -> str:
    return f"{k}/{n}"


class _Facts:
    """The measured numbers of one policy, for the prose."""

    def __init__(self, data: ReportData, policy: str) -> None:
        comp = data.comparison
        self.runs = comp.runs[policy]
        self.n = len(self.runs)
        s = comp.summary(policy)
        self.m = s["metrics"]
        self.props = s["properties"]
        self.stalled = sum(1 for r in self.runs if r.metrics["stalled"])
        self.completed = sum(1 for r in self.runs if r.outcome == "completed")
        self.bounded = sum(1 for r in self.runs if r.properties["queue_bounded"]["holds"])
        self.held = {name: sum(1 for r in self.runs if r.properties[name]["holds"]) for name in PROPERTY_NAMES}
        self.paths = ", ".join(f"{p} {_num(self.m['dispatches_by_path'][p]['median'])}"
                               for p in ("normal", "db-reconcile", "catch-up"))
        waves = self.m["stall_wave"]
        self.stall_at = "" if waves["min"] is None else (
            f"wave {waves['min']}" if waves["min"] == waves["max"] else f"waves {waves['min']}-{waves['max']}")

    def med(self, key: str) -> str:
        return _num(self.m[key]["median"])

    def mmm(self, key: str) -> str:
        return _mmm(self.m[key])


def _before_after(data: ReportData) -> str:
    facts = {p: _Facts(data, p) for p in data.comparison.runs}
    pol = list(facts)

    def row(metric: str, before: str, after: str, cell: Any) -> list[str]:
        return [metric, before, after, *(cell(facts[p]) for p in pol)]

    def counted(key: str, before: str) -> tuple[str, str, str, Any]:
        return COUNT_LABELS[key], before, "-", lambda f: f.mmm(key)

    rows = [
        row(*counted("max_waves_first_dispatched_in_1s", BEFORE[0])),
        row(*counted("max_dispatch_events_in_1s", "-")),
        row("waves active at once (max)", "30", AFTER[0], lambda f: f.mmm("max_active_waves")),
        row("active waves below threshold (max)", "-", "-", lambda f: f.mmm("max_waves_below_threshold")),
        row("peak ready batch jobs", BEFORE[1], AFTER[1], lambda f: f.mmm("peak_queue_depth")),
        row("runs that stalled (a manual restart)", BEFORE[2], AFTER[2],
            lambda f: _share(f.stalled, f.n) + (f" ({f.stall_at})" if f.stall_at else "")),
        row(f"runs with the queue within {queue_bound(data.comparison.scenario.config)} batch jobs", "-", AFTER[3],
            lambda f: _share(f.bounded, f.n)),
        row(*counted("waves_dispatched_more_than_once", "-")),
        row(*counted("extra_dispatches", "-")),
        row("imports completed", "-", "-", lambda f: _share(f.completed, f.n)),
        row("makespan (s)", "-", "-", lambda f: f.mmm("makespan_s")),
    ]
    return _table(["metric", "write-up: before", "write-up: after (expected)", *pol], rows)


def _above(value: str, bound: int, median: float | None) -> str:
    word = "above" if median is not None and median > bound else "within"
    return f"{value} ({word} the promised {bound})"


def _mechanisms(data: ReportData) -> list[str]:
    f = {p: _Facts(data, p) for p in data.comparison.runs}
    promise = data.comparison.scenario.wave_size
    out = []
    if "original" in f:
        o = f["original"]
        out.append(
            f"- **original** (the code before the fix). No guard stands between a handler run and a dispatch, so "
            f"once one handler run may dispatch, every handler run after it dispatches one more wave (dispatches "
            f"by path, medians: {o.paths}): "
            f"{o.mmm('max_waves_first_dispatched_in_1s')} waves went out within one second (median [min-max] "
            f"over {o.n} seeds), {o.mmm('max_active_waves')} were active at once and "
            f"{_above(o.mmm('peak_queue_depth'), promise, o.m['peak_queue_depth']['median'])} batch jobs were "
            f"queued at the peak; the write-up logged 30 waves and 1,500+ jobs. Handler runs that read the same "
            f"pending wave dispatch it again: {o.mmm('duplicate_dispatches')} duplicate dispatches per run"
            + (f"; {_share(o.stalled, o.n)} runs stalled at {o.stall_at}, with no completion event left to move "
               f"progression." if o.stalled else "."))
    if "guarded" in f:
        g = f["guarded"]
        out.append(
            f"- **guarded** (the three guards, no auto-trigger). The active-wave guard caps the burst at "
            f"{g.mmm('max_waves_first_dispatched_in_1s')} waves first dispatched in any 1 s and "
            f"{g.mmm('max_active_waves')} active waves, but "
            f"progression still moves only when a completion event arrives: {_share(g.stalled, g.n)} runs "
            f"stalled{' at ' + g.stall_at if g.stall_at else ''}, quiescent with waves left. The guards are reads "
            f"followed by a separate write, so two handler runs can both pass them: "
            f"{g.mmm('duplicate_dispatches')} duplicate dispatches and a peak of "
            f"{_above(g.mmm('peak_queue_depth'), promise, g.m['peak_queue_depth']['median'])} batch jobs.")
    if "seed-fix" in f:
        s = f["seed-fix"]
        out.append(
            f"- **seed-fix** (guards and the 2 s auto-trigger, the write-up's final state). The delayed job "
            f"re-runs the check after a wave completes: {_share(s.stalled, s.n)} runs stalled and "
            f"{_share(s.completed, s.n)} completed, in {s.mmm('makespan_s')} s. Its guards are still "
            f"check-then-act: {s.mmm('duplicate_dispatches')} duplicate dispatches per run and a peak of "
            f"{_above(s.mmm('peak_queue_depth'), promise, s.m['peak_queue_depth']['median'])} batch jobs; the "
            f"queue stayed within its bound in {_share(s.bounded, s.n)} runs.")
    if "atomic" in f:
        a = f["atomic"]
        period = POLICIES["atomic"].reconciler_period_s
        out.append(
            f"- **atomic** (one `advance()` claiming the next wave with a single compare-and-set, distinct "
            f"progress, a reconciler every {_num(period)} s). {a.mmm('duplicate_dispatches')} duplicate "
            f"dispatches, a peak of {_above(a.mmm('peak_queue_depth'), promise, a.m['peak_queue_depth']['median'])}"
            f" batch jobs, {_share(a.stalled, a.n)} stalls, {_share(a.completed, a.n)} completed in "
            f"{a.mmm('makespan_s')} s. It still has {a.mmm('max_active_waves')} waves active at once: the next "
            f"wave goes out when the current one reaches its threshold, so `single_active_wave` held in "
            f"{_share(a.held['single_active_wave'], a.n)} runs by design, while `one_wave_below_threshold` held "
            f"in {_share(a.held['one_wave_below_threshold'], a.n)}.")
    return out


def check_command(policy: str, scope: Scope) -> str:
    """The ``wavesim check`` command line that reproduces one check."""
    d = Scope()
    parts = [f"wavesim check --policy {policy}"]
    for opt, name in (("--waves", "waves"), ("--wave-size", "wave_size"), ("--threshold", "threshold"),
                      ("--workers", "workers"), ("--handlers", "max_handlers"), ("--crashes", "crashes"),
                      ("--duplicates", "duplicates"), ("--losses", "losses")):
        if getattr(scope, name) != getattr(d, name):
            parts.append(f"{opt} {getattr(scope, name)}")
    if not scope.fifo:
        parts.append("--any-order")
    return " ".join([*parts, "--shortest"])


def _faults_text(scope: Scope) -> str:
    budgets = [(scope.crashes, "worker crash"), (scope.duplicates, "duplicated completion event"),
               (scope.losses, "lost completion event")]
    words = [f"{n} {what}{'s' if n > 1 else ''}" for n, what in budgets if n]
    return f" (at most {', '.join(words)})" if words else " (no faults)"


def _cell(c: CheckResult, name: str) -> str:
    verdict = c.verdicts.get(name)
    if verdict is None:
        return "incomplete"
    if verdict:
        return "holds"
    return f"**VIOLATED** ({c.violations[name].steps})"


def _checks(data: ReportData) -> list[str]:
    scopes = list(dict.fromkeys(c.scope for c in data.checks))
    out = ["Each scope is checked exhaustively (breadth-first, every interleaving, with the reductions that keep "
           "counterexamples shortest: `wavesim check --shortest`); a violation's shortest counterexample has the "
           "number of steps shown, and the states are those the search stored until every property was decided. "
           "'incomplete' means a budget stopped the search before it decided the property.", ""]
    for i, scope in enumerate(scopes, 1):
        out.append(f"- scope {i}: {scope.label()}{_faults_text(scope)}")
    out.append("")
    rows = []
    for i, scope in enumerate(scopes, 1):
        for c in (c for c in data.checks if c.scope == scope):
            states = f"{c.states:,}" + ("" if c.complete else " (stopped)")
            rows.append([f"{i}", c.policy, states, *(_cell(c, n) for n in PROPERTY_NAMES)])
    out.append(_table(["scope", "policy", "states", *(f"`{n}`" for n in PROPERTY_NAMES)], rows))
    if all(c.verdicts.get("single_active_wave") is False for c in data.checks):
        out += ["", "`single_active_wave` fails under every policy, as the write-up's own design implies: with a "
                    "threshold below 100 % the next wave is dispatched while the current one still has batches to "
                    "finish. `one_wave_below_threshold` is the property the threshold design can keep."]
    out += ["", "### Counterexamples, explained", ""]
    for i, scope in enumerate(scopes, 1):
        out.append(f"Scope {i} ({scope.label()}):")
        out.append("")
        for c in (c for c in data.checks if c.scope == scope):
            if not c.violations:
                out.append(f"- `{c.policy}`: no violation (`{check_command(c.policy, scope)}`).")
                continue
            out.append(f"- `{c.policy}` (`{check_command(c.policy, scope)}`):")
            shown: dict[tuple[int, str], str] = {}
            for name in PROPERTY_NAMES:
                if name in c.violations:
                    v = c.violations[name]
                    same = shown.setdefault((v.steps, v.explanation), name)
                    text = v.explanation if same == name else f"the same counterexample as `{same}`."
                    out.append(f"  - `{name}` ({v.steps} steps): {text}")
        out.append("")
    return out


def _figures() -> list[str]:
    out = []
    for stem, what in FIGURES.items():
        out += [f"**{what[0].upper()}{what[1:]}** ([PNG]({stem}.png), [SVG]({stem}.svg))", "",
                f"![{what}]({stem}.png)", ""]
    return out


def render(data: ReportData) -> str:
    """The whole ``report.md``."""
    comp = data.comparison
    sc = comp.scenario
    st = data.settings
    head = (
        f"`{sc.preset}` scenario: {sc.waves} waves x {sc.wave_size} batch jobs, threshold {sc.threshold}%, "
        f"{sc.workers} workers, {sc.listener} listeners, {sc.batch_distribution} batch times (mean "
        f"{sc.batch_mean_s:g} s, sigma {sc.batch_sigma:g}), auto-trigger delay {sc.auto_trigger_delay_s:g} s; "
        f"{len(comp.seeds)} seeds per policy ({comp.seeds[0]}..{comp.seeds[-1]})."
    )
    chosen = ", ".join(f"{p} seed {s}" for p, s in data.seeds_used.items())
    lines = [
        "# The wave-burst incident, measured",
        "",
        "Generated by `wavesim report" + (" --quick" if st.quick else "") + "`; rerun it to regenerate this "
        "folder. Every number below is computed by that command.",
        "",
        head,
        "",
        f"![{FIGURES[HEADLINE]}](headline.png)",
        "",
        "## Before / After: the write-up's success metrics, measured",
        "",
        "Cells are medians [min-max] over seeds, or counts of runs.",
        "",
        _before_after(data),
        "",
        "## What each policy does, and what it costs",
        "",
        *_mechanisms(data),
        "",
        "## Figures",
        "",
        f"Time series and the wave timeline show one representative run per policy: the seed whose makespan is "
        f"the policy's median over the seeds (the lower median for an even count): {chosen}. Colours are one per "
        f"policy in every figure.",
        "",
        *_figures(),
        "## The checker's verdicts",
        "",
        *_checks(data),
        "## Fault matrix",
        "",
    ]
    if data.faults is None:
        lines += [data.faults_note[0].upper() + data.faults_note[1:] + ".", ""]
    else:
        lines += [data.faults.to_markdown().rstrip("\n"), "", f"({data.faults_note}.)", ""]
    lines += _live()
    lines += _readings(data)
    return "\n".join(lines).rstrip("\n") + "\n"


#: the blocks of docs/live.md the report repeats, with what each asks
LIVE_BLOCKS = (
    ("live-guards", "Do `guarded` and `seed-fix` dispatch duplicates under real concurrency (no faults)?"),
    ("live-fix-faults", "Does the fix keep its stated guarantees with every fault on?"),
)


def _live() -> list[str]:
    """The live results: ``wavesim live --summarize`` over the committed runs (docs/live.md's blocks)."""
    from docgen import fill

    lines = [
        "## On real databases (live runs)",
        "",
        "Real worker processes, a real queue and real crashes on PostgreSQL and MariaDB (`wavesim live`). A "
        "live run is not deterministic, so these blocks are `wavesim live --summarize` over the committed "
        "`--json` output in `docs/live-results/` that the commands above each wrote, filled in by `wavesim docs` "
        "as in `docs/live.md`, where the fault mix and the reading of each count are.",
        "",
    ]
    names = set()
    for name, question in LIVE_BLOCKS:
        lines += [f"**{question}**", ""]
        for block in (f"{name}-commands", name):
            lines += [f"<!-- wavesim:begin {block} -->", f"<!-- wavesim:end {block} -->", ""]
            names.add(block)
    return fill("\n".join(lines), names).split("\n")


def _readings(data: ReportData) -> list[str]:
    """The readings of the write-up: the calibration check and the sensitivity table (docs/readings.md)."""
    if data.readings is None or data.calibration is None:
        return []
    from readings.calibration import calibration_markdown
    from readings.render import to_markdown

    return [
        "## Readings of the write-up, and the evidence that picks them",
        "",
        "Where the write-up is silent, the coordinator reads it through named switches (`docs/readings.md`). "
        "The `incident` preset's simulated history, exported and audited, next to the write-up's timestamps:",
        "",
        calibration_markdown(data.calibration).rstrip("\n"),
        "",
        ("The table below is `docs/readings.json`, written by `wavesim readings --jobs 2 --out docs/readings.json`."
         if not data.settings.quick else "A reduced grid (`--quick`): two current-wave rules, one seed."),
        "",
        to_markdown(data.readings).rstrip("\n"),
        "",
    ]
