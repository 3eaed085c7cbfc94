# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Semiconductor chokepoints
#
# Where does the supply of semiconductor inputs depend on a few firms or countries?
# With the real ETO Chip Explorer files (set the environment variable
# `CHOKEPOINT_ETO_PATH` to the folder holding `stages.csv`, `inputs.csv`, `sequence.csv`,
# `providers.csv` and `provision.csv`) this notebook reads Georgetown CSET's supplier
# network (licence CC BY-NC 4.0); without it, it uses the demo world's fictional firm-level
# suppliers (**synthetic demo data**). Then it turns to country-level chip chokepoints in
# the demo trade flows.

# %% tags=["parameters"]
import os

SEED = 0  # demo world seed
YEAR = 2024  # reference year for the trade flows
COALITION = "jp_us_nl"  # Japan + United States + Netherlands
ETO_PATH = os.environ.get("CHOKEPOINT_ETO_PATH")  # ETO chip-explorer folder, or None
CHIP_CATEGORIES = ["chipmaking_equipment", "chpl_tier1"]

# %%
import pandas as pd

from analytics.chokepoints import category_overview, origin_shares, single_points_of_failure
from analytics.demo import make_demo_world
from analytics.figures import fig_supplier_bars, fig_supplier_shares
from analytics.i18n import category_name, country_name
from analytics.network import category_flows, layer
from analytics.sources.eto import read_eto_chip_explorer
from analytics.suppliers import (country_exposure, item_concentration, rank_chokepoints,
                                 upstream_exposure)

world = make_demo_world(seed=SEED)
ds = world.dataset
if ETO_PATH:
    eto = read_eto_chip_explorer(ETO_PATH)
    shares, graph = eto.shares, eto.graph
    print(f"suppliers: {eto.provenance['source']} ({eto.provenance['licence']})")
else:
    sup = ds.suppliers  # the latest year of each item
    shares, graph = sup[sup["year"] == sup.groupby("item_id")["year"].transform("max")], None
    print(f"suppliers: {ds.provenance['suppliers']['source']} ({ds.label})")
print(f"{shares['item_id'].nunique()} items, {len(shares):,} supplier rows; "
      f"trade flows: {ds.label}")

# %% [markdown]
# ## Item concentration
#
# For each item: the concentration of its suppliers at country level (a country's share
# is what an export control can reach). Residual rows ("Various companies") count as a
# fragmented fringe, so the HHI is a lower bound.

# %%
conc = item_concentration(shares, level="country")
conc.sort_values("top_share", ascending=False).head(10)[
    ["item_id", "item_name", "top_supplier", "top_share", "hhi", "n_suppliers"]].round(3)

# %% [markdown]
# ## Ranked chokepoints
#
# Items ranked by the top country's share, firm and country views side by side.

# %%
ranked = rank_chokepoints(shares, graph, top=15)
ranked

# %%
first = ranked.iloc[0]
print(f"strongest chokepoint: {first['item_name']} - {first['country_top_supplier']} holds "
      f"{first['country_top_share']:.0%}; top firm {first['firm_top_supplier']} "
      f"{first['firm_top_share']:.0%}")
item = shares[shares["item_id"] == first["item_id"]]
firms = item[item["provider_level"] == "firm"] if "provider_level" in item else item
countries = (firms.groupby("provider_country", as_index=False)["share"].sum()
             .rename(columns={"provider_country": "provider"}))
fig_supplier_bars(firms, countries, hhi=(first["firm_hhi"], first["country_hhi"]),
                  title=str(first["item_name"])).show()

# %% [markdown]
# ## Upstream exposure
#
# With the ETO item graph, an item is as exposed as the most concentrated input anywhere
# upstream of it (the *bottleneck*). The demo suppliers have no item graph, so this step
# runs only on the real data.

# %%
if graph is not None:
    exposure = upstream_exposure(graph, conc, on_cycle="condense")
    display(exposure.sort_values(["exposure", "depth"], ascending=[False, False]).head(10))
else:
    print("no item graph (demo suppliers): upstream exposure skipped")

# %% [markdown]
# Which countries hold the most items (top supplier, and majority holder):

# %%
country_exposure(shares).head(8)

# %% [markdown]
# ## Country-level chip chokepoints in the demo flows
#
# The same question on trade flows: who *makes* chip-making equipment and integrated
# circuits (traced origin shares, year by year), and which single origin each importer
# depends on most.

# %%
cf = category_flows(ds, categories=CHIP_CATEGORIES)
overview = category_overview(cf, YEAR, coalition=COALITION, countries=ds.countries)
overview[["category_id", "top_origin", "top_origin_share", "origin_hhi", "origin_n_eff",
          "coalition_origin_share"]].round(3)

# %%
for row in overview.itertuples():
    print(f"{category_name(row.category_id, ds.categories)}: {country_name(row.top_origin)} "
          f"makes {row.top_origin_share:.1%} of world trade ({YEAR}); the coalition "
          f"{row.coalition_origin_share:.1%}")

# %%
cat = CHIP_CATEGORIES[0]
shares_by_year = pd.concat([origin_shares(layer(cf, y, cat)).assign(year=y)
                            for y in sorted(cf["year"].unique())])
fig_supplier_shares(shares_by_year, supplier="origin", value="value",
                    title=f"{category_name(cat, ds.categories)}: traced origin shares").show()

# %%
spof = single_points_of_failure(layer(cf, YEAR, cat), destinations=["CHN", "RUS", "KOR"],
                                top=3)
spof.round(3)
