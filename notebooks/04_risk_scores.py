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
# # Risk scores and how robust they are
#
# The risk score of a (category, destination) is 100 x the weighted mean of its
# components in [0, 1] (category sensitivity, destination concern, exposure to
# diversion, surge, coalition leverage, listed entities, ...; the components and their
# weights are printed below). The weights come from a documented configuration file
# (`analytics/risk_config.toml`). This notebook scores the
# demo world (**synthetic demo data**), explains the top rows, measures how much the
# ranking depends on the weights, and runs a what-if with other weights.

# %% tags=["parameters"]
SEED = 0  # demo world seed
YEAR = 2024  # reference year
COALITION = "group_a"  # the controlling coalition
TOP = 10  # rows explained and compared
SAMPLES = 200  # weight vectors drawn for the sensitivity analysis
WHAT_IF = {"surge": 0.0, "concern": 3.0}  # weights changed in the what-if

# %%
import copy

from analytics.demo import make_demo_world
from analytics.figures import fig_country_risk, fig_risk_components, fig_risk_matrix
from analytics.network import category_flows
from analytics.risk import COMPONENTS, load_config, score_risk, sensitivity

world = make_demo_world(seed=SEED)
ds = world.dataset
cf = category_flows(ds)
config = load_config()
weights = {k: config["weights"][k] for k in COMPONENTS}
print(ds.label)
print("weights:", weights)

# %%
scored = score_risk(ds, year=YEAR, coalition=COALITION, cflows=cf, config=config)
print(f"{len(scored)} (category, destination) rows scored for {YEAR}")
fig_risk_matrix(scored, categories=ds.categories).show()

# %% [markdown]
# ## The top rows, explained
#
# Every row keeps its components, so the score can be read line by line.

# %%
scored.head(TOP)[["rank", "category_id", "destination", "risk", *COMPONENTS]].round(2)

# %%
for row in scored.head(TOP).itertuples():
    print(f"{row.rank:>2}. {row.category_id} -> {row.destination}: {row.explanation}")

# %%
top = scored.iloc[0]
fig_risk_components(top, weights,
                    title=f"{top['category_id']} -> {top['destination']}: "
                          f"{top['risk']:.0f}/100").show()

# %% [markdown]
# One destination across categories, each bar split into the components' contributions:

# %%
fig_country_risk(scored[scored["destination"] == top["destination"]], weights=weights,
                 categories=ds.categories).show()

# %% [markdown]
# ## Sensitivity to the weights
#
# Weight vectors are drawn from a Dirichlet distribution centred on the configured
# weights; each row's rank interval (5 %-95 %) shows whether its place in the ranking
# survives other reasonable weightings. A row is *robust* when its interval is narrow.

# %%
sens = sensitivity(scored, config=config, samples=SAMPLES)
print(f"{sens['robust'].mean():.0%} of all rows and {sens.head(TOP)['robust'].mean():.0%} "
      f"of the top {TOP} have a robust rank ({SAMPLES} weight draws)")
sens.head(TOP)[["rank", "category_id", "destination", "risk", "rank_low", "rank_high",
                "risk_low", "risk_high", "robust"]].round(1)

# %% [markdown]
# ## What if the weights were different?
#
# A modified copy of the configuration (the bundled file is untouched): the parameters
# at the top say which weights change.

# %%
alt = copy.deepcopy(config)
alt["weights"].update(WHAT_IF)
rescored = score_risk(ds, year=YEAR, coalition=COALITION, cflows=cf, config=alt)
keys = ["category_id", "destination"]
moves = scored[[*keys, "rank", "risk"]].merge(rescored[[*keys, "rank", "risk"]], on=keys,
                                              suffixes=("", "_what_if"))
moves["rank_change"] = moves["rank"] - moves["rank_what_if"]
stay = moves.head(TOP)["rank_what_if"].le(TOP).sum()
print(f"with weights {WHAT_IF}: {stay} of the top {TOP} stay in the top {TOP}; the largest "
      f"rise is {moves['rank_change'].max()} places, the largest fall "
      f"{-moves['rank_change'].min()} places")
moves.sort_values("rank_what_if").head(TOP).round(1)
