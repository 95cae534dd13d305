import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # the tests import training_helpers

from training_helpers import small_problem  # noqa: E402,F401  (the fixture)
