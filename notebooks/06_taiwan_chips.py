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
# # Taiwan's integrated circuits: Russia, Hong Kong, China and the hubs (real data)
#
# Taiwan is a leading exporter of integrated circuits (HS 8542; its rank among the
# world's exporters is printed below). After Russia's invasion of Ukraine the US, EU and
# Japan banned chip exports to Russia and Taiwan added its own controls for Russia and
# Belarus (the events, from the reference table, are listed with the time series). Did
# Taiwan's shipments to Russia fall, and did they grow to the hubs that re-export to
# Russia?
#
# **Data: real, not synthetic.** Taiwan Customs Administration export statistics of HS
# 8542 by destination, 2013-2025 (2025 is a partial year), as collected in the GitHub
# repository `a0013333j-png/data-visualization-labs` (destinations mapped to ISO3 for the
# shared data folder). One exporter only: a star network Taiwan -> destinations, not all
# country pairs, so re-exports cannot be traced here. The file is read at run time from
# the shared data folder (`DATA`, else `$CHOKEPOINT_SHARED_DATA`, else a `shared/data`
# folder above the working directory); without it the notebook says so and stops.
#
# Every number in these notes is printed by a code cell: the notes ask, the cells answer.

# %% tags=["parameters"]
DATA = None  # shared data folder; None = $CHOKEPOINT_SHARED_DATA or a shared/data above
EXPORTER = "TWN"
DESTINATIONS = ["RUS", "BLR", "HKG", "CHN", "TUR", "ARE", "KAZ", "KGZ", "ARM", "GEO", "UZB"]
WINDOW = list(range(2017, 2025))  # full years around the event (2025 is partial)
EVENT = "tw_russia_high_tech_list_2022"  # Taiwan's own list for Russia (events table)
NETWORK_YEARS = [2021, 2024]
RANK_YEARS = [2019, 2021, 2022, 2023]  # years of the world ranking (Comtrade 2024 is incomplete)

# %%
import tempfile
from pathlib import Path

import pandas as pd

from analytics import casestudies as cs
from analytics import store
from analytics.errors import DataError
from analytics.eventstudy import event_year
from analytics.figures import fig_destination_lines, fig_trade_network
from analytics.reference import concern_destinations
from analytics.sources.csvflows import (
    ingest_flows_file,
    read_flows_file,
    require_shared_data,
)

pd.set_option("display.width", 140)
folder = require_shared_data("taiwan-ic-exports-8542", DATA)
FILE = folder / "taiwan_exports_8542_by_destination_2013_2025.csv"
print(f"real data: {FILE.name} (Taiwan Customs Administration, HS 8542)")

# %% [markdown]
# ## From customs lines to canonical flows
#
# The file has Taiwan's 11-digit CCC lines (`hs_code_tw11`) with their HS6 code (`hs6`),
# several lines per destination and HS6. They are parts of one HS6 flow, so they are
# added up (`--sum-duplicates`); without that option the ingester rejects them as
# duplicates. Rows for "Others" have no country code and cannot be placed in a network:
# strict mode stops on them; lenient mode drops them and counts them (the count is
# printed below).

# %%
MAP = "exporter=reporter_iso3,importer=partner_iso3,hs6=hs6,value_usd=value_usd,year=year"
try:
    read_flows_file(FILE, mapping=MAP, sum_duplicates=True)
except DataError as err:
    print("strict mode:", "\n".join(str(err).splitlines()[:2]))

tmp = tempfile.TemporaryDirectory(prefix="chokepoint-case-b-")
STORE = Path(tmp.name) / "store"
report = ingest_flows_file(FILE, STORE, mapping=MAP, sum_duplicates=True, lenient=True,
                           hs_version="HS2017", name="Taiwan customs: HS 8542 exports",
                           data_source="Taiwan Customs Administration (via "
                                       "a0013333j-png/data-visualization-labs)")
lines = report.lines()
cut = lines.index("first examples:") + 2 if "first examples:" in lines else len(lines)
print("\n".join(lines[:cut]))
ds = store.read_dataset(STORE)
flows = ds.flows

# %% [markdown]
# ## The star network over time

# %%
star = cs.star_summary(flows, EXPORTER)
star.assign(total_usd_bn=star["total_usd"] / 1e9).drop(columns="total_usd").round(3)

# %%
totals = star.set_index("year")["total_usd"] / 1e9
print("annual totals (USD bn): " + ", ".join(f"{y} {v:.1f}" for y, v in totals.items()))
print(f"destinations per year: {star['destinations'].min()}-{star['destinations'].max()}; "
      f"{flows['importer'].nunique()} distinct destinations over "
      f"{flows['year'].min()}-{flows['year'].max()}")

# %%
roles = {EXPORTER: "coalition", **dict.fromkeys(concern_destinations(ds.countries),
                                                "concern")}
roles.update({h: "hub" for h in ds.countries.loc[ds.countries["hub"], "iso3"]
              if h not in roles})
year = NETWORK_YEARS[0]
lay = flows[flows["year"] == year].groupby(["exporter", "importer"], as_index=False)[
    "value_usd"].sum()
fig_trade_network(lay, roles=roles, top=40,
                  title=f"Taiwan's IC exports {year}: the 40 largest destinations")

# %% [markdown]
# Where does Taiwan rank among the world's IC exporters? UN Comtrade's exports of HS 8542
# to World by reporter (Taiwan appears as code 490, "Other Asia, nes"), next to Taiwan's
# customs total.

# %%
world = cs.world_export_totals(pd.read_csv(folder / "comtrade_8542_exports_to_world_2013_2024.csv"))
for year in RANK_YEARS:
    rank = cs.export_ranking(world, year).set_index("exporter")
    lead = ", ".join(f"{e} USD {v / 1e9:,.1f} bn" for e, v in rank["value_usd"].head(3).items())
    print(f"{year}: {EXPORTER} ranks {rank.loc[EXPORTER, 'rank']} of {len(rank)} reporters "
          f"(Comtrade USD {rank.loc[EXPORTER, 'value_usd'] / 1e9:,.1f} bn; Taiwan customs "
          f"USD {totals[year]:,.1f} bn); the largest: {lead}")

# %%
year = NETWORK_YEARS[-1]
lay = flows[flows["year"] == year].groupby(["exporter", "importer"], as_index=False)[
    "value_usd"].sum()
fig_trade_network(lay, roles=roles, top=40,
                  title=f"Taiwan's IC exports {year}: the 40 largest destinations")

# %% [markdown]
# ## Russia, Hong Kong, China and the hubs, with the policy events

# %%
series = cs.destination_series(flows, EXPORTER, DESTINATIONS)
(series / 1e6).round(2)

# %%
rus = series["RUS"] / 1e6
print("Russia (USD m): " + ", ".join(f"{y} {rus[y]:.1f}" if rus[y] > 0 else f"{y} none"
                                     for y in range(2019, 2026)))
tur = series["TUR"] / 1e6
print(f"Turkey (USD m): 2021 {tur[2021]:.0f} -> 2023 {tur[2023]:.0f}")
for d in ["HKG", "CHN", "ARE", "KAZ", "KGZ", "ARM"]:
    v = series[d] / 1e6
    print(f"{d} (USD m): 2021 {v[2021]:,.3f} -> 2022 {v[2022]:,.3f} -> 2023 {v[2023]:,.3f}")

# %%
events = cs.policy_events(ds.events, destinations=["RUS"], start="2021-07-01",
                          end="2024-12-31")
print(events[["date", "jurisdiction", "event_id"]].to_string(index=False))
fig_destination_lines(series[["RUS", "HKG", "CHN", "TUR", "ARE", "KAZ", "KGZ"]],
                      events=events,
                      title="Taiwan's IC exports by destination (USD m, log scale)")

# %% [markdown]
# ## Before and after
#
# The event year follows the library's rule (an event in the first half of a year counts
# from that year); the cell prints the event (`EVENT`) and its year. Pre = the `WINDOW`
# years before it, post = the `WINDOW` years from it (2025 is partial and left out).
#
# First the screening statistics of `prepost_growth`, with Taiwan as a one-member
# "coalition": mean shipments before and after, growth and a z-score against the
# pre-event years.

# %%
ey, ev = event_year(ds, EVENT)
print(f"event {ev['event_id']} ({str(ev['date'])[:10]}, {ev['jurisdiction']}): first "
      f"post-event year {ey}")
pre = cs.prepost_destinations(flows, EXPORTER, DESTINATIONS, ey, years=WINDOW,
                              countries=ds.countries)
pre.assign(pre_mean_usd_m=pre["pre_mean"] / 1e6, post_mean_usd_m=pre["post_mean"] / 1e6)[
    ["destination", "pre_mean_usd_m", "post_mean_usd_m", "growth", "z_score",
     "pre_years", "post_years"]].round(3)

# %% [markdown]
# Then a log-linear regression with destination and year effects: the year effects take
# out Taiwan's chip cycle (its total exports, printed below), the destination effects
# each market's level, so each coefficient is the post-event change of shipments to one
# destination *relative to the other destinations*. With one exporter and one treated
# destination per coefficient this is a descriptive contrast, not a causal estimate: the
# intervals assume independent years and cannot account for shocks specific to a
# destination. Zero years drop out of the logs; a destination without shipments before or
# after the event gets no coefficient (the cell lists them with the reason).

# %%
print(f"Taiwan's total IC exports: 2019 USD {totals[2019]:.1f} bn -> 2022 USD "
      f"{totals[2022]:.1f} bn ({totals[2022] / totals[2019] - 1:+.0%}) -> 2024 USD "
      f"{totals[2024]:.1f} bn")
reg = cs.prepost_regression(flows, EXPORTER, ["RUS", "HKG", "CHN", "TUR", "ARE", "KAZ",
                                              "KGZ", "ARM"], ey, years=WINDOW)
for r in reg.itertuples(index=False):
    print(f"{r.destination}: {r.change:+.0%} relative to other destinations (beta "
          f"{r.beta:+.2f}, 95% CI {r.ci_low:+.2f} to {r.ci_high:+.2f}; "
          f"{r.pre_years} pre and {r.post_years} post years)")
print(f"{int(reg['n_controls'].iloc[0])} control destinations with shipments in every year "
      f"{WINDOW[0]}-{WINDOW[-1]}")
for dest, why in reg.attrs["not_estimated"].items():
    print(f"{dest}: no coefficient ({why})")
reg.round(3)

# %% [markdown]
# Reading the coefficients: an interval below zero means shipments to that destination
# fell relative to the other destinations after the event, above zero that they rose, and
# an interval that includes zero that they moved with Taiwan's overall exports. A large
# relative change can be small in dollars, so each line carries the mean yearly value
# before and after. This star network cannot show onward shipments (Hong Kong to Russia,
# Turkey to Russia): that needs all-pairs data, as in the diversion notebook and case
# study A.

# %%
read = cs.classify_prepost(reg).merge(pre[["destination", "pre_mean", "post_mean"]],
                                      on="destination")
for reading, g in read.groupby("reading", sort=False):
    print(f"{reading}: " + "; ".join(
        f"{r.destination} {r.change:+.0%} (USD {r.pre_mean / 1e6:,.3f} m -> "
        f"{r.post_mean / 1e6:,.3f} m a year)" for r in g.itertuples(index=False)))

# %%
tmp.cleanup()
