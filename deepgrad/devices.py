"""Devices: deepgrad computes with NumPy on the CPU, so "cpu" is the only device.

`device="cpu"` and `deepgrad.device("cpu")` are accepted wherever PyTorch takes a device, so
PyTorch code runs unchanged; asking for CUDA (or another accelerator) raises an error that says
why, instead of silently computing on the CPU.
"""

from __future__ import annotations


class device:
    """A device description, as torch.device: device("cpu"), device("cpu", 0), device("cpu:0").
    Only the CPU exists; other types raise a RuntimeError."""

    __slots__ = ("type", "index")

    def __init__(self, type="cpu", index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        name, _, number = type.partition(":")
        if number:
            index = int(number)
        check_device(name, "device")
        self.type, self.index = name, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type,
                                                                           other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"


def check_device(value, op: str) -> None:
    """Accept None, "cpu", "cpu:N" and device("cpu"); raise for anything else."""
    if value is None or isinstance(value, device):
        return
    name = value.split(":")[0] if isinstance(value, str) else None
    if name == "cpu":
        return
    if name in ("cuda", "mps", "xpu", "xla", "meta", "hip", "vulkan", "mtia"):
        raise RuntimeError(
            f"{op}: device {value!r} is not available: deepgrad is a CPU-only library (its "
            "arrays are NumPy arrays), so every tensor lives on device 'cpu'; remove the "
            "device argument or pass device='cpu'")
    raise RuntimeError(f"{op}: expected a device such as 'cpu', got {value!r}")


CPU = device("cpu")


class cuda:
    """`deepgrad.cuda.is_available()` is False: code that picks a device that way runs on CPU."""

    @staticmethod
    def is_available() -> bool:
        return False

    @staticmethod
    def device_count() -> int:
        return 0

    @staticmethod
    def manual_seed(seed) -> None:
        """Nothing to seed: there is no CUDA generator (accepted so seeding code runs)."""

    manual_seed_all = manual_seed
