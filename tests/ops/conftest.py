"""The tests of ops/ import graph_checks, the checks that the convolution tests share."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
