"""The data steps' choices, light to import: the command line's option types and help texts name them
without loading the code behind them (the geometry's OpenCV)."""

from __future__ import annotations

from typing import Literal, get_args

ResizeMode = Literal["letterbox", "resize"]  # how an image is placed into the network input (``data.geometry``)
RESIZE_MODES: tuple[str, ...] = get_args(ResizeMode)
