"""Category codes across HS versions: chained concordances and warnings for gaps.

The audit case: an HS2012 BACI release and HS2022 category definitions. Codes must reach
HS2012 through every concordance table there is, and a step without a table must be said.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from analytics import reference
from analytics.errors import HSVersionError


def conc(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["from_version", "from_hs6", "to_version", "to_hs6",
                                       "relation"])


CATS = pd.DataFrame({"category_id": ["uav", "uav", "ic", "tools"],
                     "hs6": ["880730", "880621", "854231", "8486"],
                     "hs_version": ["HS2022", "HS2022", "HS2022", "HS2022"]})
CHAIN = conc(("HS2022", "880730", "HS2017", "880330", "1:1"),
             ("HS2022", "880621", "HS2017", "880211", "n:n"),
             ("HS2022", "880621", "HS2017", "880220", "n:n"),
             ("HS2017", "880330", "HS2012", "880399", "1:1"),  # invented for the test
             ("HS2017", "880220", "HS2012", "880221", "1:1"))


def test_codes_chain_through_two_tables():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every step covered: no warning
        got = reference.map_category_hs(CATS, "HS2012", CHAIN)
    rows = {(r.category_id, r.hs6): (r.from_hs6, r.mapped) for r in got.itertuples()}
    assert rows == {("ic", "854231"): ("854231", False),
                    ("tools", "8486"): ("8486", False),
                    ("uav", "880399"): ("880730", True),
                    ("uav", "880211"): ("880621", True),  # unchanged in the second step
                    ("uav", "880221"): ("880621", True)}
    assert (got["hs_version"] == "HS2012").all()
    assert got.attrs["concordance_gaps"] == []
    # and back again, from HS2012 definitions to HS2022
    back = pd.DataFrame({"category_id": ["x"], "hs6": ["880399"], "hs_version": ["HS2012"]})
    assert reference.map_category_hs(back, "HS2022", CHAIN)["hs6"].tolist() == ["880730"]


def test_a_step_without_a_table_warns_and_is_listed():
    only_22_17 = CHAIN[CHAIN["to_version"] == "HS2017"]
    with pytest.warns(UserWarning, match="no HS concordance from HS2017 to HS2007") as w:
        got = reference.map_category_hs(CATS, "HS2007", only_22_17)
    msg = str(w[0].message)
    assert "uav" in msg and "880730" in msg and "Remedy" in msg and "hs_concordance" in msg
    # what the table can map is mapped; the rest crosses the gap unchanged
    assert sorted(got.loc[got["category_id"] == "uav", "hs6"]) == ["880211", "880220",
                                                                   "880330"]
    (gap,) = got.attrs["concordance_gaps"]
    assert (gap["from_version"], gap["to_version"]) == ("HS2017", "HS2007")
    assert gap["categories"] == ["ic", "uav"] and "854231" in gap["codes"]
    assert "8486" not in gap["codes"]  # prefixes are kept as they are
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = reference.map_category_hs(CATS, "HS2007", only_22_17, warn=False)
    assert quiet.attrs["concordance_gaps"] == got.attrs["concordance_gaps"]


def test_version_paths():
    assert reference.hs_version_path("HS2022", "HS2012", CHAIN) == [
        ("HS2022", "HS2017", True), ("HS2017", "HS2012", True)]
    assert reference.hs_version_path("HS2017", "HS2017", CHAIN) == []
    assert reference.hs_version_path("HS2022", "HS1992", CHAIN) == [
        ("HS2022", "HS2017", True), ("HS2017", "HS2012", True), ("HS2012", "HS1992", False)]
    direct = conc(("HS2022", "880730", "HS2012", "880399", "1:1"))
    assert reference.hs_version_path("HS2012", "HS2022", direct) == [
        ("HS2012", "HS2022", True)]
    with pytest.raises(HSVersionError, match="HS2030"):
        reference.hs_version_path("HS2030", "HS2017")
    with pytest.raises(HSVersionError, match="HS2030"):
        reference.map_category_hs(CATS, "HS2030")


def test_reference_tables_to_hs2012():
    """The shipped concordance maps HS2022 -> HS2017 and has no HS2012 rows (yet)."""
    table = reference.category_hs()
    with pytest.warns(UserWarning, match="HS2017 to HS2012"):
        got = reference.map_category_hs(table, "HS2012")
    cnc = set(got.loc[got["category_id"] == "cnc_machine_tools", "hs6"])
    assert {"846221", "846231", "846241"} <= cnc  # via HS2017, not the HS2022 codes
    assert not {"846223", "846224", "846233", "846242"} & cnc
    assert {"854140", "880330"} <= set(got["hs6"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # HS2017 and HS2022 are fully covered
        reference.map_category_hs(table, "HS2017")
        reference.map_category_hs(table, "HS2022")
