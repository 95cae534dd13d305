"""deepgrad.config: YAML run configs, validated, their parts built through the one registry.

    from deepgrad.config import load_config
    from deepgrad.runner import Run
    run = Run.from_config("examples/spirals.yaml", overrides=["training.epochs=5"])
    run.fit()

See docs/config.md for the YAML reference and docs/run_directory.md for what a run writes.
"""

from deepgrad.config.build import (build_callbacks, build_datasets, build_layer, build_losses,
                                   build_model, build_optimizer, build_schedule,
                                   load_run_checkpoint, model_from_checkpoint)
from deepgrad.config.loader import apply_overrides, load_config, load_config_text, parse_yaml
from deepgrad.config.schema import ConfigError
from deepgrad.config.validate import validate_config
from deepgrad.registry import RegistryError, lookup, names, register

__all__ = ["load_config", "load_config_text", "parse_yaml", "apply_overrides",
           "validate_config", "ConfigError", "register", "lookup", "names", "RegistryError",
           "build_model", "build_layer", "build_datasets", "build_losses", "build_optimizer",
           "build_schedule", "build_callbacks", "load_run_checkpoint", "model_from_checkpoint"]
