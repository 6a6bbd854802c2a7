"""Build ``sim/model/data/rural_counties.csv``: each county's rural people and rural land, 2020 Census.

Where Amazon's rural delivery stations can reach households (docs/MODEL.md 7.3) depends on how
densely rural households live: the model places stations where they reach the most households
not yet reached, so it needs each county's rural population and rural land area. Both come from
the Census Bureau's county file of the 2020 urban and rural classification, ``2020_UA_COUNTY``
(https://www2.census.gov/geo/docs/reference/ua/2020_UA_COUNTY.xlsx), saved as CSV::

    python calibration/rural_counties.py 2020_UA_COUNTY.csv     # writes sim/model/data/rural_counties.csv

Kept: the 50 states and DC (Puerto Rico and the island areas are outside the model), counties with
rural people; rural land converted from square metres (``ALAND_RUR``) to square miles.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "sim" / "model" / "data" / "rural_counties.csv"
STATES = Path(__file__).resolve().parents[1] / "sim" / "model" / "data" / "states.csv"
SQUARE_METRES_PER_SQUARE_MILE = 2_589_988.110336


def number(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column.str.replace(",", "", regex=False))


def build(census: Path) -> pd.DataFrame:
    raw = pd.read_csv(census, dtype=str, encoding="utf-8-sig")
    codes = pd.read_csv(STATES).set_index("name")["code"]
    raw = raw[raw["STATE_NAME"].isin(codes.index)]
    table = pd.DataFrame({
        "state": raw["STATE_NAME"].map(codes),
        "county": raw["STATE"] + raw["COUNTY"],
        "rural_population_2020": number(raw["POP_RUR"]),
        "rural_land_sq_mi": (number(raw["ALAND_RUR"]) / SQUARE_METRES_PER_SQUARE_MILE).round(2),
    })
    return table[table["rural_population_2020"] > 0].sort_values("county").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("census", type=Path, help="the Census county file 2020_UA_COUNTY, as CSV")
    table = build(parser.parse_args().census)
    table.to_csv(OUT, index=False)
    print(f"{len(table):,} counties, {table['rural_population_2020'].sum():,} rural people, "
          f"{table['rural_land_sq_mi'].sum():,.0f} square miles of rural land -> {OUT}")


if __name__ == "__main__":
    main()
