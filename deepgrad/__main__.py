"""`python -m deepgrad ...` runs the `deepgrad` command line (see deepgrad/cli.py)."""

import sys

from deepgrad.cli import main

sys.exit(main())
