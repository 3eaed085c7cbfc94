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
# # Quickstart: a tour of the demo world
#
# The demo world is a synthetic but realistic trade network (real countries and HS6
# codes, generated flows, a planted 2022 sanctions event). Everything computed on it is
# **synthetic demo data**. This notebook walks through the library in the order an
# analyst meets it: the dataset, category flows, the chokepoint overview, origin tracing
# against dispatch, and the risk matrix.

# %% tags=["parameters"]
SEED = 0  # demo world seed
YEAR = 2024  # reference year
COALITION = "group_a"  # Japan's Group A plus Japan; or "japan", "jp_us_nl", "g7", ...
CATEGORY = "chpl_tier1"  # integrated circuits (CHPL Tier 1)
DESTINATION = "RUS"

# %%
from analytics.chokepoints import category_overview
from analytics.demo import make_demo_world
from analytics.figures import fig_origin_vs_dispatch, fig_risk_matrix
from analytics.i18n import category_name, country_name
from analytics.network import category_flows, layer
from analytics.risk import score_risk
from analytics.tracing import trace_imports

world = make_demo_world(seed=SEED)
ds = world.dataset
print(ds.label)
ds.summary()

# %% [markdown]
# ## Category flows
#
# HS6 flows are aggregated to technology categories (CHPL tiers, chip-making equipment,
# machine tools, critical minerals, ...) through the category definitions, mapped to the
# flows' HS version first.

# %%
cf = category_flows(ds)
print(f"{len(cf):,} category-flow rows, {cf['category_id'].nunique()} categories, "
      f"years {cf['year'].min()}-{cf['year'].max()}")
cf.head()

# %% [markdown]
# ## Chokepoint overview
#
# One row per category: concentration of exporters (who ships) and of traced origins
# (who makes), and the coalition's share of both.

# %%
overview = category_overview(cf, YEAR, coalition=COALITION, countries=ds.countries)
overview[["category_id", "top_origin", "top_origin_share", "origin_hhi", "top_exporter",
          "top_exporter_share", "coalition_origin_share"]].round(3)

# %% [markdown]
# ## Tracing against dispatch
#
# Customs data show the country that *shipped* the goods; proportional-mixing tracing
# credits each shipment to the country that *made* them. A hub can ship much and make
# little: how far apart are the two readings of the destination's imports?
# The default production assumption is "net exports" (a country makes what it exports
# beyond what it imports), so a large net importer is credited with little production.

# %%
lay = layer(cf, YEAR, CATEGORY)
dispatch = lay[lay["importer"] == DESTINATION]
traced = trace_imports(lay, destinations=[DESTINATION])
fig_origin_vs_dispatch(dispatch, traced).show()

# %%
d_share = dispatch.groupby("exporter")["value_usd"].sum() / dispatch["value_usd"].sum()
o_share = traced.groupby("origin")["value"].sum() / traced["value"].sum()
top = d_share.idxmax()
print(f"{category_name(CATEGORY, ds.categories)} into {country_name(DESTINATION)}, {YEAR}: "
      f"{country_name(top)} dispatches {d_share[top]:.1%} of the imports, but only "
      f"{o_share.get(top, 0):.1%} originate there; the largest origin is "
      f"{country_name(o_share.idxmax())} ({o_share.max():.1%}).")

# %% [markdown]
# ## Risk matrix
#
# The composite risk score (0-100) of every controlled category x destination, with every
# component kept so each cell can be explained.

# %%
scored = score_risk(ds, year=YEAR, coalition=COALITION, cflows=cf)
fig_risk_matrix(scored, categories=ds.categories).show()

# %%
for row in scored.head(3).itertuples():
    print(f"{row.category_id} -> {row.destination}: {row.explanation}")
