"""The tutorial tests import the scripts next to them (pytorch_examples.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
