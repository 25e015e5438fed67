"""``python -m imagewright``: the same as the ``imagewright`` command."""

import sys

from .cli import main

sys.exit(main())
