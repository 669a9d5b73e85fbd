"""``python -m gonogo`` is the ``gonogo`` command."""

import sys

from gonogo.cli import main

sys.exit(main())
