"""``python -m wavesim``: the same as the ``wavesim`` command."""

from wavesim.cli import main

if __name__ == "__main__":
    main(prog_name="wavesim")
