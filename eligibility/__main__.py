"""``python -m eligibility``: an entry point of the one command line (``api.cli``), not part of the domain."""
from api.cli import main

raise SystemExit(main())
