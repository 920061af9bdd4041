"""``python -m tailsse``."""

import sys

from tailsse.cli.main import main

sys.exit(main())
