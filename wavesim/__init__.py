"""wavesim's command line and the pieces shared by its commands."""

__all__ = ["__version__"]

__version__ = "0.1.0"
