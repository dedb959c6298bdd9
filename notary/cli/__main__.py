"""``python -m notary.cli``: the same as the ``notary`` console script."""

import sys

from notary.cli import main

sys.exit(main())
