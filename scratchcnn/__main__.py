"""``python -m scratchcnn ...`` runs the command-line interface (same as the ``scratchcnn`` command)."""
from .tools.cli import main

raise SystemExit(main())
