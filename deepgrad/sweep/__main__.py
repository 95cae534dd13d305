"""`python -m deepgrad.sweep SWEEP --index I ...`: one worker process of a sweep (started by
`deepgrad sweep --workers N`); see deepgrad.sweep.worker."""

import sys

from deepgrad.sweep.worker import main

sys.exit(main())
