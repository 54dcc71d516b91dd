"""``python -m tools.deploy``: see tools/deploy/cli.py."""

import sys

from tools.deploy.cli import main

sys.exit(main())
