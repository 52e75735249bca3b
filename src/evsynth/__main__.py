"""``python -m evsynth`` is the same as the ``evsynth`` command."""

from evsynth.cli import main

raise SystemExit(main())
