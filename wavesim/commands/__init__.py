"""One module per ``wavesim`` command; each parses options and calls one function."""
