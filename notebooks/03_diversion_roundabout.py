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
# # The "roundabout": diversion of controlled goods through third-country hubs
#
# The "Eurasian roundabout" (Chupilkin, Javorcik, Peeva & Plekhanov, EBRD): after a
# sanctions event the coalition's direct exports of controlled goods to Russia collapse
# while its exports to some hubs surge and the hubs' exports to Russia rise. The demo
# world plants such routes around its sanctions event (printed below) and records them,
# so we can check what the screening and the event study find against the truth. All
# numbers are **synthetic demo data**.

# %% tags=["parameters"]
SEED = 0  # demo world seed
DESTINATIONS = ["RUS", "BLR"]  # destinations screened (the first one is studied in detail)
CATEGORY = "chpl_tier1"  # category for paths, time series and the event study
YEAR = 2023  # year for the route paths
COALITION = None  # None = the countries that sanctioned Russia in the demo world

# %%
import numpy as np

from analytics.demo import make_demo_world
from analytics.diversion import (diversion_routes, hub_ranking, route_paths, screen_routes,
                                 yearly_route_values)
from analytics.eventstudy import diff_in_diff, event_year, prepost_growth
from analytics.figures import fig_did_forest, fig_route_sankey, fig_route_timeseries
from analytics.i18n import country_name
from analytics.network import category_flows, layer

world = make_demo_world(seed=SEED)
ds, truth = world.dataset, world.truth
coalition = list(truth.sanctioning) if COALITION is None else COALITION
dest = DESTINATIONS[0]
ey, event = event_year(ds, destination=dest)
print(f"{ds.label}; event {event['event_id']} on {str(event['date'])[:10]}: first "
      f"post-event year {ey}")

# %% [markdown]
# ## Screening every route
#
# For every (hub, destination, category): coalition-origin value delivered before and
# after the event (traced to origin), its growth, a z-score against the pre-event years,
# and its share of the destination's imports; `flagged` marks large, material surges.

# %%
outbound = ds.categories.loc[ds.categories["direction"] == "outbound", "category_id"]
cf = category_flows(ds, categories=outbound)
screened = screen_routes(cf, coalition=coalition, destinations=DESTINATIONS, event_year=ey,
                         countries=ds.countries)
screened.head(12).round(3)

# %% [markdown]
# ## Against the planted truth
#
# Precision: the share of flagged routes that were planted. Recall: the share of planted
# routes that are flagged. Routes whose planted share is ambiguous (under half of the
# category's trade to the hub) are left out of both.

# %%
planted = set(zip(truth.routes["hub"], truth.routes["destination"], truth.routes["category_id"]))
ambiguous = set(zip(truth.ambiguous_routes["hub"], truth.ambiguous_routes["destination"],
                    truth.ambiguous_routes["category_id"]))
keys = list(zip(screened["hub"], screened["destination"], screened["category_id"]))
flagged = {k for k, f in zip(keys, screened["flagged"]) if f and k not in ambiguous}
hits = flagged & planted
print(f"flagged {len(flagged)} routes; precision {len(hits) / len(flagged):.2f}, "
      f"recall {len(hits) / len(planted):.2f} ({len(hits)} of {len(planted)} planted routes)")

# %% [markdown]
# ## Which hubs carry coalition goods to the destination?

# %%
hubs = hub_ranking(cf, coalition=coalition, destination=dest, event_year=ey,
                   countries=ds.countries, entities=ds.entities)
planted_hubs = set(truth.routes.loc[truth.routes["destination"] == dest, "hub"])
hubs.assign(planted=hubs["hub"].isin(planted_hubs)).head(10).round(3)

# %%
top5 = list(hubs["hub"].head(5))
print(f"top 5 hubs into {country_name(dest)}: {', '.join(map(country_name, top5))}; "
      f"{sum(h in planted_hubs for h in top5)} of them carry a planted route")

# %% [markdown]
# ## Routes of one category: paths and last hops
#
# Multi-hop paths of coalition-origin goods (largest first) and the split of the
# destination's coalition-origin imports by origin and last shipper.

# %%
lay = layer(cf, YEAR, CATEGORY)
paths = route_paths(lay, coalition=coalition, destination=dest, k=10)
print(f"the 10 largest paths cover {paths.attrs['coverage']:.1%} of the coalition-origin "
      f"content of {country_name(dest)}'s imports")
paths[["rank", "route", "hops", "amount", "share"]].round(4)

# %%
routes = diversion_routes(lay, coalition=coalition, destination=dest, countries=ds.countries)
fig_route_sankey(routes, title=f"{CATEGORY} into {country_name(dest)}, {YEAR}").show()

# %% [markdown]
# ## Year by year, with the policy events

# %%
yearly = yearly_route_values(cf, coalition=coalition, destinations=[dest],
                             categories=[CATEGORY], countries=ds.countries)
ev = ds.events
relevant = ev[ev["destinations"].astype(str).str.contains(dest)
              & ev["categories"].astype(str).str.contains(f"{CATEGORY}|all")]
fig_route_timeseries(yearly, events=relevant, selected_event=event["event_id"]).show()

# %% [markdown]
# ## Difference-in-differences
#
# The coalition's exports of the category to each candidate hub after the event, beyond
# the change to clean control destinations and in uncontrolled products, with fixed
# effects (exporter x importer x product, exporter x product x year, importer x year).
# The demo world plants a known multiplier on each route, so the estimates can be
# compared with the truth: log(magnitude).

# %%
did = diff_in_diff(ds, coalition=coalition, categories=[CATEGORY])
fig_did_forest(did, highlight=sorted(planted_hubs)).show()

# %%
truth_cat = truth.routes[(truth.routes["destination"] == dest)
                         & (truth.routes["category_id"] == CATEGORY)]
cmp = did.merge(truth_cat[["hub", "magnitude"]], on="hub", how="left")
cmp["true_effect"] = np.log(cmp["magnitude"].fillna(1.0))
cmp["covered"] = (cmp["ci_low"] <= cmp["true_effect"]) & (cmp["true_effect"] <= cmp["ci_high"])
print(f"{int(cmp['covered'].sum())} of {len(cmp)} confidence intervals cover the planted "
      f"effect; mean absolute error {(cmp['estimate'] - cmp['true_effect']).abs().mean():.3f}")
cmp[["hub", "estimate", "ci_low", "ci_high", "true_effect", "covered"]].round(3)

# %% [markdown]
# ## The quick screen: pre/post growth of the coalition's exports to the hubs

# %%
growth = prepost_growth(cf, coalition=coalition, hubs=top5, event_year=ey,
                        categories=[CATEGORY])
growth.round(3)
