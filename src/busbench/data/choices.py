"""The data steps' choices, light to import: the command line's option types and help texts name them
without loading the code behind them (the adapters' pandas and scipy, the geometry's OpenCV)."""

from __future__ import annotations

from typing import Literal, get_args

# Every dataset adapter (``busbench.data.adapters``): ``register_adapter`` accepts only these names.
ADAPTER_NAMES = ("bus_uc", "bus_uclm", "busbra", "busi", "folder", "synthetic", "udiat")

ResizeMode = Literal["letterbox", "resize"]  # how an image is placed into the network input (``data.geometry``)
RESIZE_MODES: tuple[str, ...] = get_args(ResizeMode)
