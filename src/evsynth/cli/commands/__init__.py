"""Sub-commands of the ``evsynth`` command line, one module each."""
