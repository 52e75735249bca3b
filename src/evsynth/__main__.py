"""``python -m evsynth`` is the same as the ``evsynth`` command."""

from evsynth.cli.main import main

raise SystemExit(main())
