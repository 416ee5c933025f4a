"""The names a reader sees: models and datasets as papers print them ("CMUNeXt-S", "BUS-BRA"), never
the run folders' hash keys (``unet-1a2b3c4d``, ``busi-6945e458``). The keys appear once, in the
legend (``legend``), which says what each name stands for.

A model variant (``model.kwargs``) is its display name plus its arguments in words: U-Net with
``base_channels: 8`` is "U-Net (width 8)". A plugin without a display name of its own is named by the
config's ``model.label`` where it has one. Two runs of one table that would still share a name are
told apart by their folder key. Column headers are read as words too (``readable_header``).
"""

from __future__ import annotations

import re

import pandas as pd

from busbench.config import DataConfig, ModelConfig
from busbench.data.adapters import ADAPTERS
from busbench.data.manifest import prepared_name
from busbench.models.registry import UnknownModelError, resolve_model

KWARG_WORDS = {"base_channels": "width", "encoder_weights": "weights"}  # arguments named as papers do


def _argument(name: str, value: object) -> str:
    shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return f"{KWARG_WORDS.get(name, name.replace('_', ' '))} {shown}"


def model_title(model: ModelConfig) -> str:
    """The registered display name, with the variant's arguments in words."""
    try:
        entry = resolve_model(model.name)
    except UnknownModelError:  # a plugin no longer installed: its label or name as recorded
        return model.label or model.name
    if not entry.display_name and model.label:  # a plugin without a display name: the user's label names it
        return model.label
    title = entry.title()
    details = [_argument(k, v) for k, v in sorted(model.kwargs.items()) if v is not None]
    details += ["fine-tuned"] if model.init_from is not None else []
    return f"{title} ({', '.join(details)})" if details else title


def dataset_title(data: DataConfig) -> str:
    """The adapter's display name; a user's own folder dataset by the name its options give it; a pool
    by its datasets' names ("BUSI + BUS-BRA")."""
    if data.pool:
        return " + ".join(dataset_title(member) for member in data.pool)
    adapter = ADAPTERS.get(data.dataset)
    if adapter is None:
        return data.dataset
    if data.dataset == "folder":
        return _folder_name(data) or adapter.display_name
    return adapter.display_name


def _folder_name(data: DataConfig) -> str | None:
    """The name ``-o name=`` gave a folder dataset: in the config's options, else in the manifest.json
    of the prepared folder the run read (``data.prepared`` carries no options of its own)."""
    if data.options.get("name"):
        return str(data.options["name"])
    name = prepared_name(data.prepared) if data.prepared is not None else None
    return name if name != "folder" else None


def key_title(key: str) -> str:
    """A data folder key's dataset name where nothing else names it ("busbra-6264a9ed" -> "BUS-BRA"): its
    adapter's display name; the key itself only for a dataset no adapter knows."""
    adapter = ADAPTERS.get(key.rsplit("-", 1)[0])
    return adapter.display_name if adapter is not None and adapter.display_name else key


def unique_titles(titles: dict[str, str]) -> dict[str, str]:
    """Key -> title, where titles two keys share carry their key: "UNeXt (unext-1a2b3c4d)"."""
    counts = pd.Series(list(titles.values())).value_counts()
    return {key: f"{title} ({key})" if counts[title] > 1 else title for key, title in titles.items()}


# Column names as a reader expects them: whole names, then phrases, then single words.
HEADERS = {"p_value": "p-value", "p_holm": "p (Holm)", "rank_biserial": "rank-biserial r"}
PHRASES = {"false_positive_rate": "false-positive rate", "model_a": "model A", "model_b": "model B",
           "trained_on": "trained on", "tested_on": "tested on", "params_m": "parameters (M)"}
WORDS = {"dice": "Dice", "iou": "IoU", "hd95": "HD95", "nsd": "NSD", "gflops": "GFLOPs", "fps": "images/s",
         "mean": "(mean)", "std": "(std)"}


def readable_header(column: object) -> str:
    """``false_positive_rate_mean`` -> ``False-positive rate (mean)``; anything but a snake_case column
    name (a model's display name) stays as it is."""
    text = str(column)
    if text in HEADERS:
        return HEADERS[text]
    if not re.fullmatch(r"[a-z0-9_]+", text):  # a model's or dataset's name ("CMUNeXt-S"): kept as it is
        return text
    for phrase, words in PHRASES.items():
        text = text.replace(phrase, words)
    joined = " ".join(WORDS.get(part, part) for part in text.split("_"))
    return joined[:1].upper() + joined[1:]
