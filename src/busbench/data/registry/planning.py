"""The split of a manifest as its settings ask: from a registry (``split.registry``) or made by
busbench's splitter (``split_file.plan_split``); with the file name each is kept under."""

from __future__ import annotations

from busbench.data.manifest import Manifest
from busbench.data.registry.assign import plan_registry_split, registry_split_name
from busbench.data.registry.record import load_registry
from busbench.data.split.record import Split
from busbench.data.split.split_file import SplitSettings, plan_split, split_file_name
from busbench.data.split.user_links import read_user_links


def split_name(manifest: Manifest, settings: SplitSettings) -> str:
    """The split file's name: it says the settings, or the registry and its checksum."""
    if settings.registry is not None:
        registry, _, sha256 = load_registry(settings.registry)
        return registry_split_name(registry.name, sha256, settings.registry_mismatch)
    return split_file_name(settings, read_user_links(settings.links_file, manifest))


def plan(manifest: Manifest, settings: SplitSettings) -> Split:
    """The split of ``manifest``: every case's role plus what made it (each way checks the settings)."""
    if settings.registry is not None:
        settings.check()
        registry, _, sha256 = load_registry(settings.registry)
        return plan_registry_split(manifest, registry, sha256, settings.registry_mismatch)
    return plan_split(manifest, settings)
