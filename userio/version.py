"""wavesim's version: shown by ``wavesim --version`` and stamped on what a sweep writes."""

__all__ = ["__version__"]

__version__ = "0.1.0"
