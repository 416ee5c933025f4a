"""A dataset root given through a symbolic link that is re-pointed after `prepare`.

``manifest.json`` records the root resolved (``root``: the folder the link led to), so every step
reads the files the manifest's checksums were made from, and the root as given (``root_as_given``:
the link). When the link now leads elsewhere, the steps still read the old folder; this says so
once per manifest and process, with the command that prepares the new target.
"""

from __future__ import annotations

from pathlib import Path

from busbench.data.integrity import prepare_command
from busbench.log import logger

ROOT_AS_GIVEN = "root_as_given"
_told: set[Path] = set()  # manifests already warned about in this process


def as_given(root: Path) -> str:
    """The root as the user named it, made absolute without following links."""
    return str(Path(root).absolute())


def warn_if_repointed(meta: dict[str, object], csv_path: Path) -> None:
    """One warning line when the root as given now resolves to another folder than the one prepared."""
    given = meta.get(ROOT_AS_GIVEN)
    if not isinstance(given, str) or not Path(given).exists() or csv_path.resolve() in _told:
        return
    now = Path(given).resolve()
    if now == Path(str(meta["root"])):
        return
    _told.add(csv_path.resolve())
    logger.warning(f"warning: {given} now leads to {now}, but {csv_path} was prepared from {meta['root']}, where "
                   "it led then, and busbench keeps reading that folder; to use the data it leads to now, prepare "
                   f"again: `{prepare_command({**meta, 'root': given}, csv_path.parent)}`")
