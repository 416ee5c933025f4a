"""The run-folder layout, in three modules: ``folders`` (where every artefact of a run lives: the file
names and the typed folder objects that name each artefact's path), ``atomic`` (how every file is
written: atomically, a full disk or an unwritable folder as one line) and ``locks`` (what processes
sharing an output folder must not do at once). Base layer: it imports only ``errors`` and ``log``.

Import each name from the module that defines it; this package re-exports nothing.
"""
