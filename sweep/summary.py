"""Per grid point: median and spread of each metric, share of runs each property held."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

__all__ = ["summarise"]


def summarise(
    rows: Iterable[Mapping[str, object]], metrics: Sequence[str], properties: Sequence[str]
) -> list[dict[str, object]]:
    """One summary per grid point, in the order the points first appear."""
    groups: dict[str, list[Mapping[str, object]]] = {}
    for row in rows:
        groups.setdefault(str(row["point"]), []).append(row)
    out = []
    for point, group in groups.items():
        summary: dict[str, object] = {"point": point, "runs": len(group)}
        for name in metrics:
            values = np.array([float(v) for r in group if isinstance(v := r.get(name), (int, float))])
            if values.size == 0:
                summary[name] = None
                continue
            p25, median, p75 = np.percentile(values, [25, 50, 75])
            summary[name] = {
                "median": float(median), "p25": float(p25), "p75": float(p75),
                "min": float(values.min()), "max": float(values.max()),
            }
        for name in properties:
            held = [r.get(f"holds_{name}") for r in group]
            known = [h for h in held if isinstance(h, bool)]
            summary[f"held_{name}"] = (sum(known) / len(known)) if known else None
        out.append(summary)
    return out
