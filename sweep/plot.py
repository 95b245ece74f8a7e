"""A sweep's metric against one parameter: median line, interquartile band."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["sweep_figure"]


def _point(key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in key.split(";") if part)


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def sweep_figure(summaries: Sequence[Mapping[str, object]], metric: str, param: str) -> Figure:
    """``metric`` (median, p25-p75) against ``param``; one line per other setting."""
    lines: dict[str, list[tuple[float | str, dict[str, float]]]] = {}
    for s in summaries:
        point = _point(str(s["point"]))
        x = _number(point.pop(param))
        label = ", ".join(f"{k}={v}" for k, v in sorted(point.items())) or metric
        stats = s.get(metric)
        if isinstance(stats, dict):
            lines.setdefault(label, []).append((x, stats))
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for label, pts in sorted(lines.items()):
        pts.sort(key=lambda p: (isinstance(p[0], str), p[0]))
        xs = [p[0] for p in pts]
        ax.plot(xs, [p[1]["median"] for p in pts], marker="o", label=label)
        ax.fill_between(xs, [p[1]["p25"] for p in pts], [p[1]["p75"] for p in pts], alpha=0.2)
    ax.set_xlabel(param)
    ax.set_ylabel(f"{metric} (median, p25-p75 band)")
    ax.set_title(f"{metric} against {param}", fontsize=10)
    ax.grid(alpha=0.3)
    if len(lines) > 1:
        ax.legend(fontsize=7)
    return fig
