"""``python -m tailsse``."""

import sys

from tailsse.cli import main

sys.exit(main())
