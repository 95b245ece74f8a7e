"""``wavesim readings``: which readings of the write-up its own evidence supports."""
