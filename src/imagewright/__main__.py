"""``python -m imagewright``: the same as the ``imagewright`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
