"""deepgrad.config: YAML run configs, validated, resolved through one registry, built.

    from deepgrad.config import load_config, build_run
    run = build_run(load_config("examples/spirals.yaml", overrides=["training.epochs=5"]))
    run.fit()

See docs/config.md for the YAML reference.
"""

from deepgrad.config.build import (Run, build_datasets, build_layer, build_model, build_run,
                                   load_run_checkpoint, model_from_checkpoint)
from deepgrad.config.loader import apply_overrides, load_config, load_config_text, parse_yaml
from deepgrad.config.registry import RegistryError, lookup, names, register
from deepgrad.config.schema import ConfigError
from deepgrad.config.validate import validate_config

__all__ = ["load_config", "load_config_text", "parse_yaml", "apply_overrides",
           "validate_config", "ConfigError", "register", "lookup", "names", "RegistryError",
           "build_run", "build_model", "build_layer", "build_datasets", "Run",
           "load_run_checkpoint", "model_from_checkpoint"]
