"""Jobs: what sweeps and calibrations share, below both of them.

- :mod:`~sim.jobs.folders`: a job's folder, claimed with :func:`sim.outputs.prepare_output`, locked while it
  works, known by its fingerprint (the model version included), ``running`` then ``complete``;
- :mod:`~sim.jobs.runs`: the worker (a scenario with overrides and a seed, read into plain rows,
  errors recorded) and the driver loop over chunks of tasks;
- :mod:`~sim.jobs.store`: finished runs, one atomic record each, so a resumed sweep skips them;
- :mod:`~sim.jobs.executors`: inline, a process pool or Dask, one ``concurrent.futures`` interface;
- :mod:`~sim.jobs.inputs` and :mod:`~sim.jobs.outcomes`: the limits and checks of the scenario
  values a job varies, and what it reads from a run.

``experiments`` (sweeps) and ``calibration`` import this package; it imports neither.
"""
