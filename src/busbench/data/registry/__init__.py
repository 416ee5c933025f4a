"""Published splits: each case's role stored by its content fingerprint, so that every copy of a
dataset (renamed, re-encoded, resized) gets the same test set (``busbench split --registry``) and
can be checked against the copy the published numbers were computed on (``busbench verify``)."""
