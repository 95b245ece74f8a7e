"""What the user gives wavesim and gets back, shared by every command and the packages under it.

``columns`` sizes a column of names, ``errors`` turns bad input into one ``error:`` line (exit code 2),
``exitcodes`` is the one
exit-code contract, ``files`` writes output files whole or not at all, ``progress`` draws progress
bars on a terminal, ``version`` is wavesim's version. The package imports none of them itself, so
``wavesim --help`` stays fast.
"""

__all__ = ["columns", "errors", "exitcodes", "files", "progress", "version"]
