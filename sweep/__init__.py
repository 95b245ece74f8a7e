"""Parameter sweeps: a grid of scenario settings x seeds, run locally or on Dask.

Each run is one task ``(point, seed)``; its row is appended to the output file
as soon as it finishes, so an interrupted sweep resumes without redoing
finished runs, and the file is rewritten in grid order at the end so that a
local and a distributed sweep of the same grid give identical files.
"""

from sweep.grid import Task, expand_grid, parse_param
from sweep.store import RowStore
from sweep.summary import summarise

__all__ = ["RowStore", "Task", "expand_grid", "parse_param", "summarise"]
