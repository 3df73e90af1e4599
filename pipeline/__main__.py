"""`python -m pipeline`: a launcher of the command line (app/cli.py) with the dev tools'
demo and bench commands (devtools/commands.py). The one module of `pipeline/` that imports
the layers above it."""

import sys

from devtools.commands import main

sys.exit(main())
