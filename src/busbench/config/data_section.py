"""The ``data`` section: one dataset, or a pool of several developed on together (``data: [A, B]``).

Its key names the dataset's folder under the output folder (manifest, split, cache) and so the run
folders: a dataset's key must never change; a pool's names its datasets.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from busbench.config.section import Section

FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")  # usable as a folder name and in --cell; no "..", no "/"


def folder_name(value: str | None) -> str | None:
    """A setting that becomes a folder under ``output_dir`` must stay a plain name, never a path."""
    if value is not None and not FOLDER_NAME.fullmatch(value):
        raise ValueError(f"{value!r} names a folder under output_dir: use letters, digits and _ . + - only, starting "
                         "with a letter or digit (no '/', no '..')")
    return value


# A setting that names a folder: checked by ``folder_name``, and its pattern is in the editor schema
FolderName = Annotated[str, AfterValidator(folder_name), Field(json_schema_extra={"pattern": FOLDER_NAME.pattern})]

POOL = "pool"  # data.dataset of a pooled cell (``DataConfig.pool``)

# What ``_pool_alone`` refuses, in the editor schema: a pool of one, of pools, of one dataset twice, or with
# root/prepared/options of its own
NOT_A_POOL: dict[str, Any] = {"properties": {"pool": {"maxItems": 0}}}
POOL_RULES: dict[str, Any] = {
    "if": {"required": ["pool"], "properties": {"pool": {"minItems": 1}}},
    "then": {"properties": {"pool": {"minItems": 2, "uniqueItems": True, "items": NOT_A_POOL},
                            "root": {"type": "null"}, "prepared": {"type": "null"}, "options": {"maxProperties": 0}}},
}


def _data_rules(schema: dict[str, Any]) -> None:
    """The editor schema's rules of a ``data`` section: the pool's, and each adapter's options (an option the
    adapter lacks, or a value it refuses, is refused when the dataset is prepared); no dataset is synthetic."""
    from busbench.data.adapters import ADAPTERS
    from busbench.data.adapters.synthetic import SYNTHETIC

    named = {name: {"properties": {"dataset": {"const": name}}, "required": [] if name == SYNTHETIC else ["dataset"]}
             for name in ADAPTERS}
    options = [{"if": named[name],
                "then": {"properties": {"options": _options_schema(adapter.Options)}}}
               for name, adapter in sorted(ADAPTERS.items())]
    schema["allOf"] = [POOL_RULES, *options]


def _options_schema(options: type[BaseModel]) -> dict[str, Any]:
    spec = options.model_json_schema()
    return {key: spec[key] for key in ("type", "properties", "additionalProperties")}


def _adapter_names(schema: dict[str, Any]) -> None:
    """The editor schema's choices of ``data.dataset``: the registered adapters (another is refused when the
    dataset is prepared), and the pool's own name, which a pooled config shows."""
    from busbench.data.adapters import ADAPTERS

    schema["enum"] = [*sorted(ADAPTERS), POOL]


class DataConfig(Section):
    model_config = ConfigDict(json_schema_extra=_data_rules)

    dataset: str = Field("synthetic", json_schema_extra=_adapter_names, description=(
        "Dataset adapter (`busbench datasets` lists them); \"pool\" is a pool's own, which busbench sets."))
    root: Path | None = Field(None, description=(
        "The folder the dataset was unpacked into, e.g. ${BUSBENCH_DATA}/Dataset_BUSI_with_GT; relative: from the "
        "YAML file's folder. Unset for the generated synthetic dataset."))
    prepared: Path | None = Field(None, description=(
        "A folder made by `busbench prepare` (manifest.csv), used instead of `root`: its split and cache files are "
        "written and reused beside the manifest, as `busbench split` and `busbench cache` do. Unset: `run` "
        "prepares the dataset itself under OUTPUT_DIR/data/<dataset>-<hash>/."))
    options: dict[str, Any] = Field(default_factory=dict, description="The adapter's options (`-o` of `prepare`).")
    pool: list[DataConfig] = Field(default_factory=list, description=(
        "Pooled training: two or more datasets (each a `data` section) developed on together, each keeping its own "
        "frozen split; fold k of the pool is every dataset's fold k, and each test set is scored on its own. "
        "`data: [A, B]` is short for `data: {pool: [A, B]}`."))

    _plain_dataset = field_validator("dataset")(folder_name)  # the schema's enum of adapters are folder names

    @field_validator("prepared")
    @classmethod
    def _absolute(cls, folder: Path | None) -> Path | None:
        """The prepared folder from the working directory, once: "work/busi" and its absolute path are one
        dataset (one cell to resume), and a run's saved config finds it from anywhere."""
        return None if folder is None else Path(os.path.abspath(folder.expanduser()))

    @model_validator(mode="after")
    def _pool_alone(self) -> DataConfig:
        """A pool is its datasets and nothing else, so that its key names exactly them."""
        if not self.pool:
            return self
        if len(self.pool) < 2:
            raise ValueError("data.pool lists one dataset: pool two or more, or give that one as `data`")
        if any(member.pool for member in self.pool):
            raise ValueError("data.pool: a pooled dataset cannot itself be a pool; list its datasets instead")
        keys = [member.key() for member in self.pool]
        if len(set(keys)) != len(keys):
            raise ValueError(f"data.pool lists a dataset twice ({keys}): list each once")
        if self.root is not None or self.prepared is not None or self.options:
            raise ValueError("data.pool: root, prepared and options belong to each pooled dataset, not to the pool")
        self.dataset = POOL
        return self

    def describe(self) -> str:
        """What the key's hash stands for, in words."""
        if self.pool:
            return "pool of " + "; ".join(member.describe() for member in self.pool)
        if self.prepared and not self.options:  # the options it was prepared with are in its manifest.json
            return f"{self.dataset} prepared in {self.prepared}"
        where = f"prepared in {self.prepared}" if self.prepared else f"at {self.root or '(generated)'}"
        return f"{self.dataset} {where}, options {self.options or 'default'}"

    def key(self) -> str:
        """Folder name of this dataset's manifest, split and cache under the output folder; a pool's
        names its datasets (``pool-busi+busbra-<hash of their keys>``)."""
        if self.pool:
            identity = json.dumps([member.key() for member in self.pool])
            names = "+".join(member.dataset for member in self.pool)
            return f"{POOL}-{names}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"
        # the prepared folder (absolute, however it was typed) stands for the data, not the root it replaces
        where = {"root": str(self.root)} if self.prepared is None else {"prepared": str(self.prepared)}
        identity = json.dumps({**where, "options": self.options}, sort_keys=True, default=str)
        return f"{self.dataset}-{hashlib.sha256(identity.encode()).hexdigest()[:8]}"
