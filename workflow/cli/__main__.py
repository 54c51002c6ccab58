"""``python -m workflow.cli``: the same as the ``rectify`` console script."""
import sys

from . import main

sys.exit(main())
