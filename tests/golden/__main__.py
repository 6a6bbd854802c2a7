"""Regenerate the golden baseline: ``python -m tests.golden``."""

from . import GOLDEN, golden_rows

rows = golden_rows()
rows.to_parquet(GOLDEN, index=False, compression="zstd")
print(f"wrote {GOLDEN} ({len(rows)} rows)")
