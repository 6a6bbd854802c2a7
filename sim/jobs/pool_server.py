"""Imported by the job pools' fork server as it starts (``sim.jobs.executors``), never by anything
else: the server ends with the process that started it (its workers, with the server, the same
way), so a first process that is killed leaves no pool behind."""

from __future__ import annotations

import os

from ..processes import die_with_parent

die_with_parent()
if os.getppid() == 1:  # the first process ended before the request above was made
    os._exit(0)
