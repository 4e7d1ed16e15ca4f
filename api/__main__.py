"""``python -m api``: the command line (``api.cli``), as the installed ``tms-eligibility``."""
from .cli import main

raise SystemExit(main())
