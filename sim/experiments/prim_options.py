"""PRIM's default options, apart from :mod:`sim.experiments.prim` so that the command line can show
them without importing numpy and pandas (``retailsim --version`` builds every command's parser)."""

ALPHA = 0.05  # the share of the box's cases one peel removes (Friedman & Fisher suggest 0.05-0.10)
MIN_MASS = 0.05  # peeling stops before the box holds fewer than this share of all cases
MIN_COVERAGE = 0.8  # the chosen box: the densest with at least this coverage
