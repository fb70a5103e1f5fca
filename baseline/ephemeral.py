"""``python -m baseline.ephemeral``, the entry point older callers use; now ``python -m baseline ephemeral``
(the code: ``baseline.ops.ephemeral``)."""

import sys

from baseline.ops.ephemeral import main

if __name__ == "__main__":
    sys.exit(main())
