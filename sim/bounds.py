"""Bounds that are plain numbers, importable without loading the schema or any library.

The command line checks its options against them before anything heavy is imported (so
``retailsim --version`` and a bad ``--seed`` answer at once); the schema uses the same numbers.
"""

MAX_SEED = 2**63 - 1  # seeds are whole numbers from 0 (numpy's SeedSequence takes any)
MIN_SHOPPERS, MAX_SHOPPERS = 10, 5_000_000  # simulated households in one run
# A plain name: scenario, sweep and set-up names become folder names ('.', '..' and '/' cannot).
PLAIN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
