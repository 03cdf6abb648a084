"""``python -m cli``: the ``riskmon`` command."""

import sys

from cli.main import main

sys.exit(main())
