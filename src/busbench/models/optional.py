"""Families of networks other libraries provide by name (``monai.UNet``), each installed by a busbench extra.

A family's members are registered only when its packages can be imported; without them a member's
name is still recognised by its prefix, so the error says which extra to install rather than
"unknown model". Each family declares, once, its prefix, its extra, and the packages each member needs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

from busbench.errors import BusbenchError
from busbench.registry import similar_names


@dataclass(frozen=True)
class OptionalFamily:
    prefix: str  # every member's name starts with it: "monai."
    extra: str  # `pip install 'busbench[<extra>]'` installs its packages
    packages: tuple[str, ...]  # importable packages every member needs
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)  # each member: the packages it needs besides

    def needs(self, name: str) -> tuple[str, ...]:
        return (*self.packages, *self.members.get(name, ()))

    def missing(self, name: str) -> list[str]:
        """The packages member ``name`` needs that cannot be imported (none: it can be built)."""
        return [package for package in self.needs(name) if not importable(package)]

    def install_hint(self) -> str:
        return f"pip install 'busbench[{self.extra}]'"


FAMILIES: list[OptionalFamily] = []


def importable(package: str) -> bool:
    """Whether ``package`` can be found, without importing it (importing MONAI takes seconds)."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a parent package that fails, or a module without a spec
        return False


def add_family(family: OptionalFamily) -> OptionalFamily:
    FAMILIES.append(family)
    return family


def family_of(name: str) -> OptionalFamily | None:
    return next((family for family in FAMILIES if name.startswith(family.prefix)), None)


def check_family_installed(name: str, setting: str) -> None:
    """For a name of an optional family whose packages are missing: an error naming the extra to install."""
    family = family_of(name)
    missing = family.missing(name) if family else []
    if family and missing:
        close = similar_names(name, list(family.members)) if name not in family.members else []
        guess = f"; did you mean {', '.join(close)}?" if close else ""
        raise MissingExtraError(
            f"{setting}={name} needs {' and '.join(missing)}, which cannot be imported here: "
            f"{family.install_hint()} (the {family.prefix}* networks come with that extra){guess}"
        )


def import_failure(family: OptionalFamily, exc: ImportError) -> BusbenchError:
    """A family's library found but failing on import (a broken or mismatched install), as the fix."""
    return MissingExtraError(
        f"{family.prefix}* networks: importing {exc.name or 'their library'} failed ({type(exc).__name__}: "
        f"{' '.join(str(exc).split())}); reinstall it with {family.install_hint()}"
    )


class MissingExtraError(BusbenchError):
    """A model of an optional family whose busbench extra is not (properly) installed."""
