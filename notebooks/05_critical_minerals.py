# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Critical minerals under China's export controls (real data)
#
# Since 2023 China has put a series of critical minerals under export licensing and
# banned some of them to the United States (the events, from the reference table, are
# printed below). Which of these goods depend on China, who depends on them (Japan), and
# how did Russia's sources move between the two years of the extract?
#
# **Data: real, not synthetic.** CEPII BACI HS17 (release V202601) for 30 critical-mineral
# HS6 codes, all country pairs, 2022 and 2024 (the extract of the GitHub repository
# `Varcolacus/critical-materials-atlas`; Etalab Open Licence 2.0, cite Gaulier & Zignago
# 2010), and the raw two-sided UN Comtrade reports behind it (UN Comtrade terms of use).
# The files are read at run time from the shared data folder: the parameter `DATA`, else
# the environment variable `CHOKEPOINT_SHARED_DATA`, else the first `shared/data` folder
# above the working directory. Without them the notebook says so and stops.
#
# Every number in these notes is printed by a code cell: the notes ask, the cells answer.

# %% tags=["parameters"]
DATA = None  # shared data folder; None = $CHOKEPOINT_SHARED_DATA or a shared/data above
YEARS = [2022, 2024]  # the two years of the extract
IMPORTER = "JPN"  # whose dependence on China we measure
SUPPLIER = "CHN"
JURISDICTION = "CN"  # the supplier's export-control events in the events table
DESTINATION = "RUS"  # whose sources we follow
HUBS = ["KAZ", "TUR", "ARE", "KGZ", "ARM"]  # hubs whose role in Russia's supply we follow
TOP = 12  # rows shown in ranked tables

# %%
import tempfile
from pathlib import Path

import pandas as pd

from analytics import casestudies as cs
from analytics import store, tracing
from analytics.figures import (fig_hs6_concentration, fig_origin_vs_dispatch,
                               fig_supplier_shares)
from analytics.network import category_flows, category_membership
from analytics.sources.comtrade import mirror_statistics, read_comtrade
from analytics.sources.csvflows import ingest_flows_file, require_shared_data

pd.set_option("display.width", 140)
folder = require_shared_data("baci-critical-minerals-2022-2024", DATA)
print(f"real data: {folder.name} (CEPII BACI HS17 V202601 and UN Comtrade reports)")

# %% [markdown]
# ## A store from the two BACI files
#
# The files are tidy (`i` exporter ISO3, `j` importer ISO3, `cmd` HS6, `value` USD)
# without a year column, so each is ingested with its year through the generic flows
# ingester (`chokepoint ingest csv ... --year Y --map exporter=i,importer=j,hs6=cmd,
# value_usd=value`). The second ingest adds its year and keeps the first. BACI writes
# Taiwan as `S19`; the ingester maps it to `TWN` and counts it.

# %%
tmp = tempfile.TemporaryDirectory(prefix="chokepoint-case-a-")
STORE = Path(tmp.name) / "store"
for year in YEARS:
    report = ingest_flows_file(
        folder / f"baci_hs17_critical_{year}.csv", STORE, year=year,
        mapping="exporter=i,importer=j,hs6=cmd,value_usd=value", hs_version="HS2017",
        name="CEPII BACI HS17 V202601: 30 critical-mineral HS6 codes",
        data_source="CEPII BACI HS17 V202601 (extract of Varcolacus/critical-materials-atlas)")
    print("\n".join(report.lines()))
ds = store.read_dataset(STORE)
flows = ds.flows
overview = flows.groupby("year").agg(
    rows=("value_usd", "size"), value_usd_bn=("value_usd", lambda v: v.sum() / 1e9),
    exporters=("exporter", "nunique"), importers=("importer", "nunique"),
    hs6_codes=("hs6", "nunique"))
print(overview.round(1).to_string())
china_events = ds.events[ds.events["jurisdiction"] == JURISDICTION]
print(china_events[["date", "event_id", "categories", "destinations"]].to_string(index=False))

# %% [markdown]
# ## Concentration per HS6 code
#
# The dashboard and `category_flows` add up the codes of a category; one code can be a
# chokepoint inside a diversified category, so here every (year, HS6) is its own layer.
# Exporter shares are what customs record; traced-origin shares move re-exports back to
# the countries that made the goods (proportional mixing, production = net exports).

# %%
membership = category_membership(ds)
conc = cs.hs6_concentration(flows, membership=membership)
conc.insert(2, "material", conc["hs6"].map(cs.CRITICAL_MINERAL_HS6))
shown = conc.assign(world_trade_usd_m=conc["world_trade"] / 1e6)[
    ["year", "hs6", "material", "category_id", "world_trade_usd_m", "hhi", "cr1",
     "top_exporter", "origin_hhi", "top_origin", "top_origin_share"]]
shown.sort_values(["year", "hhi"], ascending=[True, False]).round(3)

# %%
magnets = conc.set_index(["year", "hs6"])
for year in YEARS:
    m = magnets.loc[(year, "850511")]
    print(f"850511 permanent magnets {year}: {m['top_exporter']} ships "
          f"{m['top_share']:.1%} of world exports (HHI {m['hhi']:.3f}); traced origin "
          f"{m['top_origin']} {m['top_origin_share']:.1%}")
china_top = conc[conc["top_exporter"] == SUPPLIER].groupby("year")["hs6"].apply(list)
for year, codes in china_top.items():
    print(f"{year}: China is the largest exporter of {len(codes)} of the "
          f"{conc['hs6'].nunique()} codes: "
          f"{', '.join(codes)}")

# %%
fig_hs6_concentration(conc, labels=cs.CRITICAL_MINERAL_HS6,
                      title=f"Exporter concentration (HHI) of {conc['hs6'].nunique()} "
                            "critical-mineral codes")

# %% [markdown]
# Shipping is not making. Under the net-export assumption a country that imports more
# of a code than it exports "produces" none of it, so what it ships is traced back to
# its suppliers: when other large shippers are net importers, the main producer's traced
# share rises above its shipped share (and is an upper bound for it). Conversely, a
# country that ships goods it imported has a traced share below its shipped share. Which
# of the largest exporters of magnets are net importers, and for which codes does
# China's traced share depart from its shipped share?

# %%
positions = cs.trade_positions(flows)
year = YEARS[-1]
mag = positions[(positions["year"] == year) & (positions["hs6"] == "850511")].nlargest(
    8, "exports")
print(f"850511 {year}: net importers among the 8 largest exporters (no traced production): "
      f"{', '.join(mag.loc[mag['net_exports'] < 0, 'country'])}")
mag[["country", "exports", "imports", "net_exports", "export_share", "origin_share"]].round(3)

# %%
gap = cs.shipped_vs_traced(positions, SUPPLIER)
for (y, above), g in gap.groupby(["year", gap["difference_pp"] > 0]):
    side = "above" if above else "below"
    print(f"{y}, {SUPPLIER} traced {side} shipped: " + ", ".join(
        f"{h} {cs.CRITICAL_MINERAL_HS6[h]}" + (" (net importer)" if p == "net importer" else "")
        for h, p in zip(g["hs6"], g["position"], strict=True)))
gap.assign(material=gap["hs6"].map(cs.CRITICAL_MINERAL_HS6)).round(3)

# %% [markdown]
# Category flows group codes: which codes of the extract carry each category, and which
# of a category's codes are missing from the extract?

# %%
present = set(flows["hs6"])
coverage = cs.category_coverage(membership, ds.categories, present)
print(coverage.to_string(index=False))
print(f"{len(present - set(membership['hs6']))} of the {len(present)} codes belong to no "
      "category")
cf = category_flows(ds)
print(f"category flows: {len(cf):,} rows over {cf['category_id'].nunique()} categories")

# %% [markdown]
# ## EC/CEPII dependency flags
#
# An importer depends on a code when its import HHI exceeds 0.4 and it imports more than
# it exports. The EC calls a dependency *persistent* when it holds in 2 of 3 years; the
# extract has 2022 and 2024 only, so *persistent in 2024* here means dependent in both
# 2022 and 2024 (2023 is not observed and counts neither way), and nothing can be
# persistent in 2022.

# %%
flags = cs.hs6_dependency_flags(flows)
counts = flags.groupby("year")[["dependent", "persistent"]].sum()
print(counts.to_string())
mine = flags[(flags["importer"] == IMPORTER) & (flags["year"] == YEARS[-1])
             & flags["dependent"]]
print(f"{IMPORTER}: dependent on {len(mine)} codes in {YEARS[-1]}, persistent for "
      f"{int(mine['persistent'].sum())}; on {SUPPLIER} as top supplier for "
      f"{int((mine['top_supplier'] == SUPPLIER).sum())}")
mine.assign(material=mine["hs6"].map(cs.CRITICAL_MINERAL_HS6))[
    ["hs6", "material", "hhi", "import_export_ratio", "top_supplier", "top_share",
     "persistent"]].round(3)

# %% [markdown]
# ## Japan's dependence on China, code by code
#
# Share of Japan's imports shipped from China, and the share *originating* in China
# once re-exports are traced (e.g. Chinese magnets reaching Japan through a third
# country count as Chinese).

# %%
dep = cs.import_dependence_on(flows, IMPORTER, SUPPLIER)
wide = dep.pivot_table(index="hs6", columns="year",
                       values=["share_shipped", "share_traced"]).round(3)
wide.columns = [f"{a}_{b}" for a, b in wide.columns]
wide.insert(0, "material", wide.index.map(cs.CRITICAL_MINERAL_HS6))
wide.sort_values(f"share_traced_{YEARS[-1]}", ascending=False)

# %%
for code in ["811292", "850511", "250490", "810194", "811010"]:
    row = dep[(dep["hs6"] == code)].set_index("year")
    print(f"{code} {cs.CRITICAL_MINERAL_HS6[code]}: "
          + "; ".join(f"{y} shipped {row.loc[y, 'share_shipped']:.1%}, traced "
                      f"{row.loc[y, 'share_traced']:.1%}" for y in YEARS if y in row.index))

# %%
year = YEARS[-1]
lay = flows[(flows["year"] == year) & (flows["hs6"] == "850511")]
traced = tracing.trace_imports(lay, destinations=[IMPORTER])
fig_origin_vs_dispatch(lay[lay["importer"] == IMPORTER], traced,
                       title=f"{IMPORTER}'s imports of permanent magnets (850511), {year}: "
                             "as shipped and traced to origin")

# %% [markdown]
# ## Russia's sources in the two years
#
# Russia's imports of the extract's codes by dispatching country: which sources follow
# China, and how did the shares of China and the hubs move?

# %%
rus = cs.source_shares(flows, DESTINATION)
totals = rus.groupby("year")["value_usd"].agg(["sum", "size"])
rows = flows[flows["importer"] == DESTINATION].groupby("year").size()
for y, r in totals.iterrows():
    print(f"{DESTINATION} imports {y}: USD {r['sum'] / 1e6:,.1f} m in {rows[y]} flow rows "
          f"from {int(r['size'])} exporters")
for y, g in rus.groupby("year"):
    print(f"{DESTINATION}'s largest sources {y}: " + ", ".join(
        f"{e} {s:.1%}" for e, s in zip(g["exporter"].head(4), g["share"].head(4), strict=True)))
change = cs.source_change(rus, YEARS[0], YEARS[-1]).set_index("exporter")
china = change.loc[SUPPLIER]
print(f"China's share of Russia's imports of the codes: {china[f'share_{YEARS[0]}']:.1%} "
      f"({YEARS[0]}) -> {china[f'share_{YEARS[-1]}']:.1%} ({YEARS[-1]})")
for h in HUBS:
    if h in change.index:
        r = change.loc[h]
        print(f"{h}: USD {r[f'value_{YEARS[0]}'] / 1e6:,.2f} m ({r[f'share_{YEARS[0]}']:.1%}) "
              f"-> USD {r[f'value_{YEARS[-1]}'] / 1e6:,.2f} m ({r[f'share_{YEARS[-1]}']:.1%})")
cs.source_change(rus, YEARS[0], YEARS[-1], top=TOP).round(3)  # largest in either year

# %%
fig_supplier_shares(rus.rename(columns={"exporter": "supplier"}), top=6,
                    title=f"{DESTINATION}'s imports of {flows['hs6'].nunique()} "
                          "critical-mineral codes by dispatching country")

# %% [markdown]
# Is China's larger share a volume story? Russia's total against China's value, and the
# sources that (almost) stopped shipping: those that kept 5 % or less of their
# first-year value.

# %%
first, last = YEARS[0], YEARS[-1]
tot = totals["sum"]
print(f"{DESTINATION}'s imports: USD {tot[first] / 1e6:,.1f} m -> USD {tot[last] / 1e6:,.1f} m "
      f"({tot[last] / tot[first] - 1:+.0%}); from {SUPPLIER}: USD "
      f"{china[f'value_{first}'] / 1e6:,.1f} m -> USD {china[f'value_{last}'] / 1e6:,.1f} m "
      f"({china['value_change']:+.0%})")
gone = cs.dropped_sources(change.reset_index(), first, last, max_retained=0.05)
print(f"{len(gone)} sources kept 5 % or less of their {first} value; together "
      f"{gone[f'share_{first}'].sum():.1%} of {DESTINATION}'s {first} imports. The largest: "
      + ", ".join(f"{e} USD {v / 1e6:,.1f} m -> {w / 1e6:,.2f} m" for e, v, w in zip(
          gone["exporter"].head(6), gone[f"value_{first}"].head(6),
          gone[f"value_{last}"].head(6), strict=True)))

# %% [markdown]
# Now the codes under China's own export controls: who ships them to Russia?

# %%
controlled = cs.controlled_hs6(membership, ds.events, jurisdiction=JURISDICTION,
                               hs6=flows["hs6"].unique())
print(controlled.to_string(index=False))
by_code = cs.source_shares(flows, DESTINATION, hs6=controlled["hs6"], by_hs6=True)
roles = cs.source_change(by_code, YEARS[0], YEARS[-1])
roles = roles[roles["exporter"].isin([SUPPLIER, *HUBS])]
roles.assign(material=roles["hs6"].map(cs.CRITICAL_MINERAL_HS6)).round(3)

# %% [markdown]
# ## Mirror gaps in the raw Comtrade reports
#
# BACI reconciles one value per flow; the raw reports show both sides. Exact duplicate
# lines, World totals and breakdown lines are handled as documented and counted.
# Exporters report FOB, importers CIF, so importer > exporter is normal; large gaps in
# either direction flag misreporting, transit attributed to the wrong partner or
# confidential trade. Does Russia report? The last table lists the countries that never
# report and appear only as partners.

# %%
reports = read_comtrade(sorted(folder.glob("comtrade_raw_critical_*.csv.gz")))
print(f"{reports.rows_read:,} lines read; handled: {reports.notes}")
stats = mirror_statistics(reports)
mirror = cs.mirror_gap_report(stats.table, top=TOP)
by_year = mirror.by_year.assign(exporter_reported_bn=mirror.by_year["exporter_reported"] / 1e9,
                                importer_reported_bn=mirror.by_year["importer_reported"] / 1e9)
print(by_year[["year", "coverage", "flows", "exporter_reported_bn",
               "importer_reported_bn"]].round(2).to_string(index=False))
both = stats.summary.loc["both"]
print(f"median importer/exporter ratio of flows both sides report: "
      f"{both['median_ratio']:.3f}")

# %%
mirror.pair_gaps.assign(gap_usd_m=mirror.pair_gaps["gap"] / 1e6).round(3)

# %%
mirror.one_sided.assign(value_usd_m=mirror.one_sided["value"] / 1e6).round(1)

# %%
rus_row = mirror.partner_only.set_index("country").loc[DESTINATION]
print(f"countries that never report: {len(mirror.partner_only)}; {DESTINATION} appears "
      f"in {int(rus_row['flows']):,} flows, only as a partner: partners report USD "
      f"{rus_row['exports_reported_by_partners'] / 1e9:,.2f} bn of imports from it and "
      f"USD {rus_row['imports_reported_by_partners'] / 1e6:,.1f} m of exports to it")
mirror.partner_only.head(TOP)

# %%
tmp.cleanup()
