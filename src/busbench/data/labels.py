"""The label vocabulary every adapter maps its dataset's own class names onto."""

from __future__ import annotations

NORMAL = "normal"
BENIGN = "benign"
MALIGNANT = "malignant"
# A lesion whose class the dataset does not give (a plain folder of image/mask pairs).
LESION = "lesion"
LABELS = (NORMAL, BENIGN, MALIGNANT, LESION)

_ALIASES = {
    "normal": NORMAL,
    "benign": BENIGN,
    "malignant": MALIGNANT,
    "malign": MALIGNANT,
    "lesion": LESION,
}


def canonical_label(raw: object) -> str | None:
    """The canonical label for a dataset's class name, or None when it is not one we know."""
    if raw is None:
        return None
    return _ALIASES.get(str(raw).strip().lower())
