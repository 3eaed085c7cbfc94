"""Briefing packs: one technology category x one destination, in English or Japanese.

:func:`make_brief` runs the analyses a director asks about for a category ``C`` and a
destination ``D`` (risk score and its components, the coalition's share of D's supply,
diversion exposure and the hubs carrying coalition goods, the post-event surge and its
difference-in-differences test, who makes C, the enforcement min-cut) and writes a folder:

``brief.pdf``
    Title page, key-findings table, then one page per chart with a caption.
``NN_<chart>.png`` / ``NN_<chart>.svg``
    Each chart alone, in the briefing template (:func:`analytics.briefing.briefing_figure`:
    title, subtitle, source line with the dataset's provenance, date and the "synthetic
    demo data" label when it applies), 1200 x 675 px (PNG at 2x: 2400 x 1350 pixels).
``findings.csv``
    The key-findings table (``key``, ``finding``, ``value``, ``detail``, ``number``).

Every page, the title and findings pages included, is a plotly figure in the one
template, exported to PDF by kaleido (text stays text; Chromium embeds the fonts, the
CJK ones as Type 3 glyph fonts) and merged with ``pypdf``. A chart page is the chart's
template figure made taller, the caption in the extra band, so PDF pages and PNG files
show the same chart. Every number in a title, caption or finding comes from the analysis.

Charts (file stem: content): ``01_risk_components`` (risk of (C, D) by component),
``02_routes_sankey`` (coalition-origin goods by origin and last-hop hub into D),
``03_routes_timeseries`` (coalition-origin goods into D per year, direct and via hubs,
with policy events), ``04_origin_shares`` (traced origin shares of C over time),
``05_did_forest`` (difference-in-differences per hub, when estimable) and
``06_leak_routes`` (max-flow to D once direct shipments stop, when D is outside the
coalition). Charts that cannot be computed are left out and say why in
:attr:`BriefResult.skipped` and in the findings.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analytics import chokepoints as chk
from analytics import diversion as dv
from analytics.briefing import HEIGHT, WIDTH, BriefingMeta, briefing_figure, export_figure
from analytics.dataset import SYNTHETIC_LABEL, Dataset
from analytics.errors import (
    AnalysisError,
    ConfigError,
    NodeNotFound,
    UnknownCategory,
    UnknownCountry,
)
from analytics.eventstudy import diff_in_diff, event_year
from analytics.figures import (
    fig_did_forest,
    fig_leak_routes,
    fig_risk_components,
    fig_route_sankey,
    fig_route_timeseries,
    fig_supplier_shares,
)
from analytics.figures.core import PALETTE, TEMPLATE, font_family
from analytics.i18n import LANGS, category_name, country_name, label
from analytics.network import category_flows, layer
from analytics.outputs import atomic_write_bytes, write_table
from analytics.reference import COALITION_PRESETS, coalition_label, resolve_coalition
from analytics.risk import COMPONENTS, load_config, score_risk

__all__ = ["BriefResult", "make_brief", "CHARTS", "PAGE_WIDTH", "PAGE_HEIGHT",
           "wrap_text"]

#: chart file stems, in page order
CHARTS = ("01_risk_components", "02_routes_sankey", "03_routes_timeseries",
          "04_origin_shares", "05_did_forest", "06_leak_routes")
#: PDF pages in px (A-series landscape proportions); the chart keeps the template's
#: 1200 x 675 at the top, the caption fills the band below
PAGE_WIDTH, PAGE_HEIGHT = WIDTH, 849
_INK, _MUTED, _RULE = "#1f2933", "#52606d", "#c9ced6"

_COALITION_JA = {
    "japan": "日本",
    "jp_us_nl": "日本・米国・オランダ",
    "group_a": "日本及びグループA（ホワイト国）",
    "wassenaar": "ワッセナー・アレンジメント参加国",
    "g7": "G7（カナダ、フランス、ドイツ、イタリア、日本、英国、米国）",
}

# (English, Japanese) templates; every {field} is filled from the analysis
_TEXT: dict[str, tuple[str, str]] = {
    # title page
    "pack": ("EXPORT-CONTROL BRIEFING PACK", "輸出管理ブリーフィング資料"),
    "title": ("Export-control briefing: {cat} → {dest}", "輸出管理ブリーフィング：{cat} → {dest}"),
    "subtitle": ("Risk, diversion routes and chokepoints, {year}; coalition: {coal}",
                 "リスク・迂回経路・チョークポイント（{year}年）；有志国連合：{coal}"),
    "m_dataset": ("Dataset", "データセット"),
    "m_coalition": ("Coalition", "有志国連合"),
    "m_year": ("Reference year", "基準年"),
    "m_event": ("Event year", "イベント年"),
    "m_prepared": ("Prepared", "作成"),
    "m_members": ("{n} members", "{n}か国"),
    "m_none": ("none in the events table", "イベント表に該当なし"),
    "contents": ("Contents", "目次"),
    "findings_title": ("Key findings: {cat} → {dest}, {year}",
                       "主な分析結果：{cat} → {dest}（{year}年）"),
    "findings_sub": ("Coalition: {coal}. Values traced to origin by proportional mixing.",
                     "有志国連合：{coal}。原産地は比例配分法で追跡。"),
    "col_finding": ("Finding", "項目"),
    "col_value": ("Value", "値"),
    "col_detail": ("Detail", "詳細"),
    "figure": ("Figure {n}", "図{n}"),
    "page": ("Page {n} of {total}", "{n} / {total} ページ"),
    "synthetic_note": ("All figures in this pack come from synthetic demo data, not from "
                       "real trade statistics.",
                       "本資料の数値はすべて合成デモデータによるもので、実際の貿易統計ではない。"),
    "prepared_with": ("{date}, chokepoint-analytics", "{date}、chokepoint-analytics"),
    # findings
    "f_risk": ("Risk score", "リスクスコア"),
    "v_risk": ("{risk:.0f}/100 (rank {rank} of {n} destinations)",
               "{risk:.0f}/100（仕向地{n}か国中{rank}位）"),
    "f_drivers": ("Main drivers", "主な要因"),
    "f_coalition_share": ("Coalition share of {dest}'s supply", "{dest}の供給に占める連合のシェア"),
    "v_coalition_share": ("{share} traced to coalition origin", "{share}が連合原産（追跡ベース）"),
    "d_coalition_share": ("{direct} shipped directly by members; imports {imports}",
                          "うち加盟国からの直接出荷{direct}；輸入総額{imports}"),
    "f_diversion": ("Diversion exposure", "迂回エクスポージャー"),
    "v_diversion": ("{share} of imports: coalition goods via non-coalition hubs",
                    "輸入の{share}が連合外経由の連合原産品"),
    "d_diversion": ("{via} a year; {diverted} of the coalition-origin goods arrive via hubs",
                    "年{via}；連合原産品の{diverted}が経由地から到着"),
    "f_surge": ("Surge since the event", "イベント以降の急増"),
    "v_surge": ("{growth} coalition-origin goods arriving vs {pre}",
                "連合原産品の到着額 {growth}（{pre}比）"),
    "d_surge": ("{now} in {year} against {before} a year before", "{year}年{now}、イベント前の年平均{before}"),
    "f_hubs": ("Top hubs (post-event average a year)", "主な経由地（イベント後の年平均）"),
    "d_hubs": ("growth against the years before {ey}; 'new': none before",
               "{ey}年より前との比較；「新規」：以前はなし"),
    "f_origin": ("Top origin of the category (world)", "カテゴリーの最大原産国（世界）"),
    "v_origin": ("{top}: {share} of world trade", "{top}：世界貿易の{share}"),
    "d_origin": ("HHI {hhi:.2f}; coalition origin {coal}; top dispatcher {exp} ({exp_share})",
                 "HHI {hhi:.2f}；連合原産 {coal}；最大出荷国 {exp}（{exp_share}）"),
    "f_cut": ("Min-cut hubs (direct shipments stopped)", "最小カットの経由地（直接輸出停止後）"),
    "d_cut": ("closing them stops up to {value} a year reaching {dest} over observed routes",
              "遮断すると観測経路上の年最大{value}の{dest}への流入を阻止"),
    "f_did": ("Largest difference-in-differences effect", "差の差推定の最大効果"),
    "v_did": ("{hub}: ×{mult:.2f} (95 % CI ×{lo:.2f}-×{hi:.2f})",
              "{hub}：×{mult:.2f}（95％信頼区間 ×{lo:.2f}～×{hi:.2f}）"),
    "d_did": ("{n_sig} of {n} candidate hubs rise significantly after {ey}",
              "{n}か国中{n_sig}か国で{ey}年以降に有意な増加"),
    "f_data": ("Data", "データ"),
    "na": ("not available: {why}", "算出不可：{why}"),
    "new": ("new", "新規"),
    "none": ("none", "なし"),
    # charts
    "c1_title": ("Risk score of {cat} → {dest}: {risk:.0f}/100",
                 "リスクスコア：{cat} → {dest}：{risk:.0f}/100"),
    "c1_sub": ("Contribution of each component (points), {year}; coalition: {coal}",
               "構成要素ごとの寄与（ポイント）、{year}年；有志国連合：{coal}"),
    "c1_cap": ("The score is 100 × the weighted mean of seven components, each in [0, 1] "
               "(weights: {config}). {dest} ranks {rank} of {n} destinations for this "
               "category in {year}. Largest contributions: {drivers}.",
               "スコアは0～1の7つの構成要素の加重平均×100（重み：{config}）。{year}年、"
               "{dest}はこのカテゴリーの仕向地{n}か国中{rank}位。主な寄与：{drivers}。"),
    "c2_title": ("How coalition-origin goods reach {dest}: {cat}, {year}",
                 "連合原産品が{dest}に届く経路：{cat}（{year}年）"),
    "c2_sub": ("Origin → last shipper → destination; values traced to origin",
               "原産国 → 最終出荷国 → 仕向地；原産地ベースで追跡"),
    "c2_cap": ("{dest} imported {imports} of this category in {year}; {content} ({cshare}) "
               "originated in the coalition, and {via} of it ({diverted}) arrived from "
               "non-coalition hubs. Largest hubs: {hubs}.",
               "{year}年の{dest}の当該カテゴリー輸入額は{imports}。うち{content}（{cshare}）が"
               "連合原産で、その{diverted}（{via}）が連合外の経由地から到着。主な経由地：{hubs}。"),
    "c3_title": ("Coalition-origin {cat} arriving in {dest}, {y0}-{y1}",
                 "{dest}に到着する連合原産の{cat}（{y0}～{y1}年）"),
    "c3_sub": ("By last shipper; vertical lines: policy events for this category and "
               "destination", "最終出荷国別；縦線：このカテゴリー・仕向地に関する政策イベント"),
    "c3_cap": ("Before {ey}, coalition members shipped {pre_direct} a year directly and "
               "{pre_hub} arrived via non-coalition hubs; from {ey}, {post_direct} and "
               "{post_hub} ({growth}). {n_events} policy event(s) are marked.",
               "{ey}年より前は連合国からの直接出荷が年{pre_direct}、連合外経由地からの到着が"
               "{pre_hub}。{ey}年以降はそれぞれ{post_direct}、{post_hub}（{growth}）。"
               "政策イベント{n_events}件を表示。"),
    "c3_cap_noevent": ("Coalition-origin goods arriving in {dest} a year, direct and via "
                       "hubs; the events table has no sanctions or control event for it.",
                       "{dest}に到着する連合原産品の年額（直接・経由地別）。イベント表に"
                       "該当する制裁・輸出管理イベントはない。"),
    "c4_title": ("Who makes {cat}: origin shares of world trade, {y0}-{y1}",
                 "{cat}の生産国：世界貿易に占める原産国シェア（{y0}～{y1}年）"),
    "c4_sub": ("Traced origin: re-exports are credited to the producing country",
               "原産地ベース：再輸出は生産国に帰属"),
    "c4_cap": ("In {year}, {top} made {share} of world trade in this category (traced), "
               "HHI {hhi:.2f}, an effective number of {neff:.1f} suppliers; coalition "
               "members made {coal}. The largest dispatcher is {exp} ({exp_share}).",
               "{year}年、当該カテゴリーの世界貿易の{share}が{top}原産（追跡ベース）、"
               "HHI {hhi:.2f}、実効供給国数{neff:.1f}。連合原産は{coal}。最大の出荷国は"
               "{exp}（{exp_share}）。"),
    "c5_title": ("Post-event change in coalition exports of {cat} to candidate hubs",
                 "イベント後の連合から経由候補国への{cat}輸出の変化"),
    "c5_sub": ("Difference-in-differences from {ey}: effect on log exports, 95 % CI",
               "{ey}年以降の差の差推定：輸出（対数）への効果、95％信頼区間"),
    "c5_cap": ("Each point is the change in the coalition's exports of the category to one "
               "hub after the event, beyond the change to control destinations and in "
               "uncontrolled products (fixed effects {fe}). {n_sig} of {n} hubs rise "
               "significantly; the largest is {hub} (×{mult:.2f}).",
               "各点は、イベント後に連合から各経由候補国への当該カテゴリー輸出が、対照仕向地"
               "および非規制品目の変化を超えてどれだけ変化したかを示す（固定効果 {fe}）。"
               "{n}か国中{n_sig}か国で有意に増加、最大は{hub}（×{mult:.2f}）。"),
    "c6_title": ("Leak routes once direct shipments stop: {cat} to {dest}, {year}",
                 "直接輸出停止後の流出経路：{cat} → {dest}（{year}年）"),
    "c6_sub": ("Max-flow from the coalition over the observed routes (an upper bound)",
               "観測された経路上の連合からの最大フロー（上限値）"),
    "c6_cap": ("Without direct routes, up to {value} a year could still move from the "
               "coalition to {dest} over the routes observed in {year}. The smallest set of "
               "hubs whose closure stops it: {hubs}.",
               "直接経路がなくても、{year}年に観測された経路で年最大{value}が連合から{dest}へ"
               "移動し得る。これを遮断する最小の経由地の組み合わせ：{hubs}。"),
    "method": ("Method", "方法"),
    "c1_how": ("each component is scaled to [0, 1] (thresholds and weights are documented in "
               "risk_config.toml); a sensitivity analysis of the weights is in "
               "notebooks/04_risk_scores.",
               "各構成要素は0～1に正規化（閾値と重みはrisk_config.tomlに記載）。重みの感度分析は"
               "notebooks/04_risk_scoresを参照。"),
    "c2_how": ("proportional-mixing tracing (Bialek; Croft, West & Green 2018): what a country "
               "ships carries the origin mix of its supply; production is assumed to be net "
               "exports, so re-exports are credited to the producing country.",
               "比例配分による原産地追跡（Bialek；Croft, West & Green 2018）：各国の出荷はその供給の"
               "原産構成を引き継ぐ。生産量は純輸出と仮定し、再輸出は生産国に帰属させる。"),
    "c3_how": ("the same tracing, year by year; event dates from the curated events table "
               "(first full year after the event: {ey}).",
               "同じ追跡を年ごとに適用。イベント日付は整備済みイベント表による（イベント後最初の"
               "通年：{ey}年）。"),
    "c4_how": ("every destination's imports are traced to their origins and summed over "
               "destinations; HHI is the sum of squared origin shares.",
               "各仕向地の輸入を原産国まで追跡し、仕向地について合計。HHIは原産国シェアの二乗和。"),
    "c5_how": ("EBRD 'Eurasian roundabout' design (Chupilkin, Javorcik, Peeva & Plekhanov); "
               "OLS with fixed effects (pyfixest), errors clustered by exporter-importer-product.",
               "EBRDの「ユーラシア・ラウンドアバウト」分析（Chupilkin, Javorcik, Peeva & Plekhanov）。"
               "固定効果付き最小二乗法（pyfixest）、標準誤差は輸出国・輸入国・品目でクラスター化。"),
    "c6_how": ("max-flow / min-cut (Edmonds-Karp) on the layer's capacity graph, direct "
               "coalition-to-destination routes removed; a hub's capacity is its imports.",
               "当該年・カテゴリーの容量グラフ上の最大フロー／最小カット（Edmonds-Karp法）。連合から"
               "仕向地への直接経路は除外し、経由地の容量はその輸入額。"),
    "k_risk": ("Risk score", "リスクスコア"),
    "k_share": ("Coalition share of supply", "供給に占める連合シェア"),
    "k_diversion": ("Diversion exposure", "迂回エクスポージャー"),
    "more": ("(+{n} more)", "（他{n}か国）"),
    # reasons a chart or finding is missing
    "why_member": ("{dest} is a coalition member", "{dest}は連合の加盟国"),
    "why_no_event": ("no sanctions or control event for {dest} in the events table",
                     "イベント表に{dest}に関する制裁・輸出管理イベントがない"),
    "why_no_did": ("no hub with enough observations", "十分な観測値のある経由地がない"),
    "why_no_score": ("not scored ({why})", "スコアなし（{why}）"),
}


def _t(key: str, lang: str, **kw: Any) -> str:
    en, ja = _TEXT[key]
    return (ja if lang == "ja" else en).format(**kw)


# ------------------------------------------------------------------------ formatting
def _sig(x: float) -> str:
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _money(value: float, lang: str = "en") -> str:
    """USD amounts: ``USD 1.16 bn`` / ``11.6億米ドル``.

    >>> _money(1.157e9), _money(1.157e9, "ja"), _money(2.5e4, "ja")
    ('USD 1.16 bn', '11.6億米ドル', '2.50万米ドル')
    """
    v = float(value)
    if not math.isfinite(v):
        return "-"
    if lang != "ja":
        a = abs(v)
        for div, unit in ((1e12, "tn"), (1e9, "bn"), (1e6, "m"), (1e3, "k")):
            if a >= div:
                return f"USD {v / div:.3g} {unit}"
        return f"USD {v:.3g}"
    a = abs(v)
    for div, unit in ((1e12, "兆"), (1e8, "億"), (1e4, "万")):
        if a >= div:
            return f"{_sig(v / div)}{unit}米ドル"
    return f"{v:,.0f}米ドル"


def _pct(x: float) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _growth(pre: float, post: float, lang: str) -> str:
    if pre <= 0:
        return _t("new", lang) if post > 0 else "-"
    g = post / pre - 1.0
    return f"×{post / pre:.0f}" if g >= 9 else f"{g:+.0%}"


#: glyphs that never start a line (Japanese kinsoku): they stay on the line before
_NO_START = frozenset("、。，．）」』】〕％：；！？)]}%,.;:!?")


def _wide(ch: str) -> bool:
    return ord(ch) >= 0x2E80


def _width(text: str) -> int:
    return sum(2 if _wide(c) else 1 for c in text)


def wrap_text(text: str, width: int) -> list[str]:
    """Split ``text`` into lines of at most ``width`` units (a CJK glyph counts 2).

    Latin text breaks at spaces; CJK text may break between any two glyphs (preferably
    after a comma or full stop).

    >>> wrap_text("the quick brown fox jumps", 10)
    ['the quick', 'brown fox', 'jumps']
    >>> wrap_text("リスクスコアの構成要素", 10)
    ['リスクスコ', 'アの構成要', '素']
    """
    lines: list[str] = []
    for para in str(text).split("\n"):
        cur = ""
        tokens: list[str] = []
        for word in para.split(" "):  # keep CJK runs breakable glyph by glyph
            if any(_wide(c) for c in word):
                buf = ""
                for c in word:
                    if _wide(c):
                        if buf:
                            tokens.append(buf)
                            buf = ""
                        tokens.append(c)
                    else:
                        buf += c
                if buf:
                    tokens.append(buf)
                tokens.append(" ")
            else:
                tokens.extend([word, " "])
        if tokens:
            tokens.pop()
        for tok in tokens:
            if tok == " ":
                if cur and _width(cur) < width:
                    cur += " "
                continue
            if _width(cur) + _width(tok) > width and cur.strip() and tok not in _NO_START:
                lines.append(cur.rstrip())
                cur = tok
            else:
                cur += tok
        lines.append(cur.rstrip())
    return [ln for ln in lines if ln] or [""]


def _br(text: str, width: int, max_lines: int | None = None) -> str:
    lines = wrap_text(text, width)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" .,、。") + "…"
    return "<br>".join(lines)


# ------------------------------------------------------------------------- results
@dataclass(frozen=True)
class BriefResult:
    """What :func:`make_brief` wrote.

    Attributes
    ----------
    out : Path
        The pack's folder.
    pdf : Path
        ``brief.pdf``.
    charts : dict
        Chart stem -> (PNG path, SVG path), for the charts made.
    findings : DataFrame
        ``key``, ``finding``, ``value``, ``detail``, ``number`` (the headline number,
        NaN when the finding has none), in the language of the pack.
    skipped : dict
        Chart stem -> why it was left out.
    title : str
        The pack's title.
    pages : int
        Pages of the PDF.
    """

    out: Path
    pdf: Path
    charts: dict[str, tuple[Path, Path]]
    findings: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    title: str = ""
    pages: int = 0

    @property
    def paths(self) -> list[Path]:
        """Every file written: the PDF, the findings CSV, the PNG and SVG files."""
        files = [self.pdf, self.out / "findings.csv"]
        for png, svg in self.charts.values():
            files += [png, svg]
        return files


@dataclass
class _Ctx:
    ds: Dataset
    cf: pd.DataFrame  # category flows of the category, every year
    category: str
    dest: str
    coalition: str | Sequence[str]
    members: tuple[str, ...]
    year: int
    years: list[int]
    lang: str
    cat_name: str = ""
    dest_name: str = ""
    coal_name: str = ""
    ey: int | None = None
    event: pd.Series | None = None


# ----------------------------------------------------------------------- validation
def _coalition_name(coalition, members, lang: str) -> str:
    if isinstance(coalition, str) and coalition.strip().lower() in COALITION_PRESETS:
        key = coalition.strip().lower()
        return _COALITION_JA[key] if lang == "ja" and key in _COALITION_JA \
            else coalition_label(coalition)
    names = [country_name(m, lang) for m in members]
    sep = "・" if lang == "ja" else " + "
    return sep.join(names[:6]) + (f" (+{len(names) - 6})" if len(names) > 6 else "")


def _check(dataset: Dataset, cflows: pd.DataFrame | None, category: str, destination: str,
           coalition, year: int | None, lang: str) -> _Ctx:
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}; use one of {list(LANGS)}")
    cats = sorted(map(str, dataset.categories["category_id"]))
    if category not in cats:
        raise UnknownCategory(f"unknown category {category!r}; valid categories: "
                              f"{', '.join(cats)}")
    if cflows is None:
        cf = category_flows(dataset, categories=[category])
    else:
        cf = cflows[cflows["category_id"] == category]
    years = sorted(int(y) for y in cf["year"].unique())
    if not years:
        raise AnalysisError(f"no flows of category {category!r} in dataset {dataset.name!r}")
    if year is None:
        year = years[-1]
    if int(year) not in years:
        raise AnalysisError(f"no flows of category {category!r} in {year}; years with "
                            f"flows: {years}")
    year = int(year)
    dest = str(destination).strip().upper()
    importers = sorted(map(str, cf.loc[cf["year"] == year, "importer"].unique()))
    if dest not in importers:
        known = set(map(str, dataset.countries["iso3"]))
        msg = (f"unknown destination {destination!r}" if dest not in known
               else f"destination {dest!r} imports no {category!r} in {year}")
        raise UnknownCountry(f"{msg}; valid destinations (importers of {category!r} in "
                             f"{year}): {', '.join(importers)}")
    members = resolve_coalition(coalition, dataset.countries)
    cf = cf.reset_index(drop=True)
    ctx = _Ctx(ds=dataset, cf=cf, category=category, dest=dest, coalition=coalition,
               members=tuple(members), year=year, years=years, lang=lang)
    ctx.cat_name = category_name(category, dataset.categories, lang)
    ctx.dest_name = country_name(dest, lang)
    ctx.coal_name = _coalition_name(coalition, members, lang)
    for d in (dest, None):  # the destination's own event, else the default (Russia's)
        try:
            ey, ev = event_year(dataset, destination=d) if d else event_year(dataset)
        except AnalysisError:
            continue
        if years[0] < ey <= years[-1]:
            ctx.ey, ctx.event = ey, ev
            break
    return ctx


def _events_for(ctx: _Ctx) -> pd.DataFrame:
    ev = ctx.ds.events

    def hit(col: str, value: str) -> pd.Series:
        return ev[col].astype(str).map(lambda s: s == "all" or value in s.split(";"))

    sub = ev[hit("categories", ctx.category) & hit("destinations", ctx.dest)]
    when = pd.to_datetime(sub["date"])
    span = (when.dt.year >= ctx.years[0]) & (
        when.dt.year + when.dt.day_of_year / 366 <= ctx.years[-1] + 0.3)
    return sub[span.to_numpy()].reset_index(drop=True)


# ------------------------------------------------------------------------- analysis
def _analyse(ctx: _Ctx, config: Mapping[str, Any]) -> dict[str, Any]:
    """Every frame the findings and charts need (no formatting here)."""
    ds, lang = ctx.ds, ctx.lang
    res: dict[str, Any] = {"notes": {}}
    lay = layer(ctx.cf, ctx.year, ctx.category)
    res["layer"] = lay
    # risk: all destinations of the category (for the rank), this one's row
    try:
        scored = score_risk(ds, year=ctx.year, coalition=ctx.coalition,
                            categories=[ctx.category], cflows=ctx.cf, config=config,
                            event_year=ctx.ey)
        row = scored[scored["destination"] == ctx.dest]
        res["n_scored"] = len(scored)
        if row.empty and ctx.dest in ctx.members:  # members are scored on request only
            cfg = {**config, "output": {**config["output"],
                                        "include_coalition_members": True}}
            again = score_risk(ds, year=ctx.year, coalition=ctx.coalition,
                               categories=[ctx.category], cflows=ctx.cf, config=cfg,
                               event_year=ctx.ey)
            row = again[again["destination"] == ctx.dest]
            res["n_scored"] = len(again)
        res["risk"] = row.iloc[0] if len(row) else None
        if res["risk"] is None:
            res["notes"]["risk"] = f"{ctx.dest} not in the scored destinations"
    except AnalysisError as err:
        res["risk"] = None
        res["notes"]["risk"] = str(err)
    # coalition content and diversion exposure of the destination
    try:
        res["exposure"] = dv.diversion_exposure(lay, coalition=ctx.members,
                                                destinations=[ctx.dest],
                                                countries=ds.countries).iloc[0]
    except (AnalysisError, IndexError) as err:
        res["exposure"] = None
        res["notes"]["exposure"] = str(err) or "no coalition-origin goods"
    try:
        res["routes"] = dv.diversion_routes(lay, coalition=ctx.members,
                                            destination=ctx.dest, countries=ds.countries)
    except (AnalysisError, NodeNotFound) as err:
        res["routes"] = None
        res["notes"]["routes"] = str(err)
    res["yearly"] = dv.yearly_route_values(ctx.cf, coalition=ctx.members,
                                           destinations=[ctx.dest],
                                           categories=[ctx.category],
                                           countries=ds.countries)
    res["hubs"] = None
    if ctx.ey is not None:
        try:
            res["hubs"] = dv.hub_ranking(ctx.cf, coalition=ctx.members,
                                         destination=ctx.dest, event_year=ctx.ey,
                                         categories=[ctx.category],
                                         countries=ds.countries, entities=ds.entities,
                                         yearly=res["yearly"])
        except AnalysisError as err:
            res["notes"]["hubs"] = str(err)
    # who makes the category
    res["overview"] = chk.category_overview(ctx.cf, ctx.year, coalition=ctx.members,
                                            countries=ds.countries).iloc[0]
    parts = []
    for y in ctx.years:
        osh = chk.origin_shares(layer(ctx.cf, y, ctx.category))
        parts.append(osh.assign(year=y))
    res["origins"] = pd.concat(parts, ignore_index=True)
    # enforcement min-cut once direct shipments stop
    res["cut"] = None
    if ctx.dest in ctx.members:
        res["notes"]["cut"] = _t("why_member", lang, dest=ctx.dest_name)
    else:
        try:
            res["cut"] = chk.enforcement_cut(lay, ctx.members, ctx.dest,
                                             exclude_direct=True, countries=ds.countries)
        except (AnalysisError, NodeNotFound) as err:
            res["notes"]["cut"] = str(err)
    # difference-in-differences
    res["did"] = None
    if ctx.ey is None:
        res["notes"]["did"] = _t("why_no_event", lang, dest=ctx.dest_name)
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                did = diff_in_diff(ds, coalition=ctx.members, categories=[ctx.category],
                                   year=ctx.ey)
            except AnalysisError as err:
                did = None
                res["notes"]["did"] = str(err)
        if did is not None and len(did):
            res["did"] = did
        elif "did" not in res["notes"]:
            why = "; ".join(str(w.message) for w in caught
                            if ctx.category in str(w.message))
            res["notes"]["did"] = why or _t("why_no_did", lang)
    return res


# ------------------------------------------------------------------------- findings
def _fe_text(fe: str) -> str:
    """``exporter^hs6 + importer^year`` -> ``exporter×product, importer×year``."""
    return ", ".join(p.strip().replace("^", "×").replace("hs6", "product")
                     for p in fe.split("+"))


def _drivers(row: Mapping, weights: Mapping[str, float], lang: str, n: int = 3) -> str:
    total = sum(weights[k] for k in COMPONENTS)
    pts = sorted(((100 * weights[k] * float(row[k]) / total, k) for k in COMPONENTS),
                 reverse=True)
    sep = "、" if lang == "ja" else "; "
    parts = [f"{label(k, lang)} {float(row[k]):.2f} (+{p:.0f})" for p, k in pts[:n] if p >= 0.5]
    return sep.join(parts) if parts else _t("none", lang)


def _hub_list(cut, lang: str, top: int = 5) -> str:
    names = [country_name(n, lang) for n in cut.cut_nodes["node"]]
    if not names:
        return _t("none", lang)
    sep = "、" if lang == "ja" else ", "
    more = f" {_t('more', lang, n=len(names) - top)}" if len(names) > top else ""
    return sep.join(names[:top]) + more


def _findings(ctx: _Ctx, res: dict, config: Mapping[str, Any]) -> pd.DataFrame:
    lang = ctx.lang
    rows: list[tuple[str, str, str, str, float]] = []

    def add(key, finding, value, detail="", number=np.nan):
        rows.append((key, finding, value, detail, float(number)))

    def na(why):
        return _t("na", lang, why=why)

    weights = {k: float(config["weights"][k]) for k in COMPONENTS}
    r = res["risk"]
    if r is not None:
        add("risk", _t("f_risk", lang),
            _t("v_risk", lang, risk=float(r["risk"]), rank=int(r["rank"]),
               n=res["n_scored"]), "", r["risk"])
        add("drivers", _t("f_drivers", lang), _drivers(r, weights, lang), "",
            np.nan)
    else:
        add("risk", _t("f_risk", lang), na(res["notes"].get("risk", "")))
    e = res["exposure"]
    if e is not None:
        direct = float(e["direct"]) / float(e["imports"]) if e["imports"] > 0 else np.nan
        add("coalition_share", _t("f_coalition_share", lang, dest=ctx.dest_name),
            _t("v_coalition_share", lang, share=_pct(e["coalition_share"])),
            _t("d_coalition_share", lang, direct=_pct(direct),
               imports=_money(e["imports"], lang)), e["coalition_share"])
        add("diversion_exposure", _t("f_diversion", lang),
            _t("v_diversion", lang, share=_pct(e["diversion_exposure"])),
            _t("d_diversion", lang, via=_money(e["via_hubs"], lang),
               diverted=_pct(e["diverted_share"])), e["diversion_exposure"])
    else:
        add("coalition_share", _t("f_coalition_share", lang, dest=ctx.dest_name),
            na(res["notes"].get("exposure", "")))
    if r is not None and ctx.ey is not None and ctx.year >= ctx.ey:
        pre_years = [y for y in ctx.years if y < ctx.ey]
        pre = f"{pre_years[0]}-{pre_years[-1]}" if pre_years else "-"
        add("surge", _t("f_surge", lang),
            _t("v_surge", lang, growth=_growth(float(r["pre_coalition_content"]),
                                               float(r["coalition_content"]), lang),
               pre=pre),
            _t("d_surge", lang, now=_money(r["coalition_content"], lang), year=ctx.year,
               before=_money(r["pre_coalition_content"], lang)), r["growth"])
    else:
        add("surge", _t("f_surge", lang),
            na(_t("why_no_event", lang, dest=ctx.dest_name) if ctx.ey is None
               else res["notes"].get("risk", "")))
    hubs = res["hubs"]
    if hubs is not None and len(hubs):
        top = hubs[hubs["post_value"] > 0].sort_values("post_value", ascending=False).head(3)
        sep = "、" if lang == "ja" else "; "
        val = sep.join(f"{country_name(h.hub, lang)} {_money(h.post_value, lang)} "
                       f"({_growth(h.pre_value, h.post_value, lang)})"
                       for h in top.itertuples())
        add("top_hubs", _t("f_hubs", lang), val or _t("none", lang),
            _t("d_hubs", lang, ey=ctx.ey),
            top["post_value"].iloc[0] if len(top) else np.nan)
    else:
        add("top_hubs", _t("f_hubs", lang),
            na(res["notes"].get("hubs", _t("why_no_event", lang, dest=ctx.dest_name))))
    ov = res["overview"]
    add("top_origin", _t("f_origin", lang),
        _t("v_origin", lang, top=country_name(ov["top_origin"], lang),
           share=_pct(ov["top_origin_share"])),
        _t("d_origin", lang, hhi=float(ov["origin_hhi"]),
           coal=_pct(ov["coalition_origin_share"]),
           exp=country_name(ov["top_exporter"], lang), exp_share=_pct(ov["top_exporter_share"])),
        ov["top_origin_share"])
    cut = res["cut"]
    if cut is not None:
        add("min_cut", _t("f_cut", lang), _hub_list(cut, lang),
            _t("d_cut", lang, value=_money(cut.value, lang), dest=ctx.dest_name),
            len(cut.cut_nodes))
    else:
        add("min_cut", _t("f_cut", lang), na(res["notes"].get("cut", "")))
    did = res["did"]
    if did is not None:
        best = did.sort_values("estimate", ascending=False).iloc[0]
        n_sig = int((did["ci_low"] > 0).sum())
        add("did", _t("f_did", lang),
            _t("v_did", lang, hub=country_name(best["hub"], lang),
               mult=float(best["multiplier"]), lo=math.exp(best["ci_low"]),
               hi=math.exp(best["ci_high"])),
            _t("d_did", lang, n_sig=n_sig, n=len(did), ey=ctx.ey), best["estimate"])
    else:
        add("did", _t("f_did", lang), na(res["notes"].get("did", "")))
    prov = ctx.ds.provenance.get("flows", {})
    src = ", ".join(str(prov[k]) for k in ("source", "version") if prov.get(k))
    add("data", _t("f_data", lang), ctx.ds.label, src)
    return pd.DataFrame(rows, columns=["key", "finding", "value", "detail", "number"])


# --------------------------------------------------------------------------- charts
def _charts(ctx: _Ctx, res: dict, config: Mapping[str, Any]
            ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    lang, cat, dest = ctx.lang, ctx.cat_name, ctx.dest_name
    charts: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    weights = {k: float(config["weights"][k]) for k in COMPONENTS}
    sep = "、" if lang == "ja" else "; "

    r = res["risk"]
    if r is not None:
        cfg_name = Path(str(config.get("_path", "risk_config.toml"))).name
        charts.append(dict(
            stem=CHARTS[0], fig=fig_risk_components(r, weights, lang=lang),
            title=_t("c1_title", lang, cat=cat, dest=dest, risk=float(r["risk"])),
            subtitle=_t("c1_sub", lang, year=ctx.year, coal=ctx.coal_name),
            caption=_t("c1_cap", lang, config=cfg_name, dest=dest, rank=int(r["rank"]),
                       n=res["n_scored"], year=ctx.year,
                       drivers=_drivers(r, weights, lang)),
            how=_t("c1_how", lang)))
    else:
        skipped[CHARTS[0]] = res["notes"].get("risk", "")

    routes, e = res["routes"], res["exposure"]
    if routes is not None and len(routes) and e is not None:
        via = routes[routes["route"] != "direct"].groupby("hub")["value"].sum()
        via = via.sort_values(ascending=False).head(3)
        hubs = sep.join(f"{country_name(h, lang)} {_money(v, lang)}" for h, v in via.items())
        charts.append(dict(
            stem=CHARTS[1], fig=fig_route_sankey(routes, lang=lang),
            title=_t("c2_title", lang, cat=cat, dest=dest, year=ctx.year),
            subtitle=_t("c2_sub", lang),
            caption=_t("c2_cap", lang, dest=dest, imports=_money(e["imports"], lang),
                       year=ctx.year, content=_money(e["coalition_content"], lang),
                       cshare=_pct(e["coalition_share"]), via=_money(e["via_hubs"], lang),
                       diverted=_pct(e["diverted_share"]), hubs=hubs or _t("none", lang)),
            how=_t("c2_how", lang)))
    else:
        skipped[CHARTS[1]] = res["notes"].get("routes") or res["notes"].get(
            "exposure", "no coalition-origin goods reach the destination")

    yearly = res["yearly"]
    if len(yearly) and float(yearly["value"].sum()) > 0:
        events = _events_for(ctx)
        selected = None if ctx.event is None else ctx.event.get("event_id")
        fig = fig_route_timeseries(yearly, events=events if len(events) else None,
                                   selected_event=selected, lang=lang)
        # the template's footer takes the bottom margin: the legend goes above the plot
        fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0))
        if ctx.ey is not None:
            pre = yearly[yearly["year"] < ctx.ey]
            post = yearly[yearly["year"] >= ctx.ey]
            n_pre = max(pre["year"].nunique(), 1)
            n_post = max(post["year"].nunique(), 1)
            pre_d = pre.loc[pre["member"], "value"].sum() / n_pre
            pre_h = pre.loc[~pre["member"], "value"].sum() / n_pre
            post_d = post.loc[post["member"], "value"].sum() / n_post
            post_h = post.loc[~post["member"], "value"].sum() / n_post
            cap = _t("c3_cap", lang, ey=ctx.ey, pre_direct=_money(pre_d, lang),
                     pre_hub=_money(pre_h, lang), post_direct=_money(post_d, lang),
                     post_hub=_money(post_h, lang), growth=_growth(pre_h, post_h, lang),
                     n_events=len(events))
        else:
            cap = _t("c3_cap_noevent", lang, dest=dest)
        charts.append(dict(
            stem=CHARTS[2], fig=fig,
            title=_t("c3_title", lang, cat=cat, dest=dest, y0=ctx.years[0], y1=ctx.years[-1]),
            subtitle=_t("c3_sub", lang), caption=cap,
            how=_t("c3_how", lang, ey=ctx.ey if ctx.ey is not None else "-")))
    else:
        skipped[CHARTS[2]] = "no coalition-origin goods reach the destination"

    ov = res["overview"]
    charts.append(dict(
        stem=CHARTS[3],
        fig=fig_supplier_shares(res["origins"], x="year", supplier="origin", value="value",
                                lang=lang),
        title=_t("c4_title", lang, cat=cat, y0=ctx.years[0], y1=ctx.years[-1]),
        subtitle=_t("c4_sub", lang),
        caption=_t("c4_cap", lang, year=ctx.year, top=country_name(ov["top_origin"], lang),
                   share=_pct(ov["top_origin_share"]), hhi=float(ov["origin_hhi"]),
                   neff=float(ov["origin_n_eff"]), coal=_pct(ov["coalition_origin_share"]),
                   exp=country_name(ov["top_exporter"], lang),
                   exp_share=_pct(ov["top_exporter_share"])),
        how=_t("c4_how", lang)))

    did = res["did"]
    if did is not None:
        best = did.sort_values("estimate", ascending=False).iloc[0]
        charts.append(dict(
            stem=CHARTS[4], fig=fig_did_forest(did, lang=lang),
            title=_t("c5_title", lang, cat=cat), subtitle=_t("c5_sub", lang, ey=ctx.ey),
            caption=_t("c5_cap", lang, fe=_fe_text(str(did["fe"].iloc[0])),
                       n_sig=int((did["ci_low"] > 0).sum()), n=len(did),
                       hub=country_name(best["hub"], lang),
                       mult=float(best["multiplier"])),
            how=_t("c5_how", lang)))
    else:
        skipped[CHARTS[4]] = res["notes"].get("did", "")

    cut = res["cut"]
    if cut is not None and cut.flow:
        charts.append(dict(
            stem=CHARTS[5],
            fig=fig_leak_routes(cut.flow, members=ctx.members, destination=ctx.dest,
                                coalition_name=ctx.coal_name if len(ctx.coal_name) < 30
                                else label("coalition", lang), lang=lang),
            title=_t("c6_title", lang, cat=cat, dest=dest, year=ctx.year),
            subtitle=_t("c6_sub", lang),
            caption=_t("c6_cap", lang, value=_money(cut.value, lang), dest=dest,
                       year=ctx.year, hubs=_hub_list(cut, lang, top=8)),
            how=_t("c6_how", lang)))
    else:
        skipped[CHARTS[5]] = res["notes"].get("cut", "nothing leaks once direct "
                                                     "shipments stop")
    return charts, skipped


# ---------------------------------------------------------------------------- pages
def _with_font(fig: go.Figure, lang: str) -> go.Figure:
    fig.update_layout(font_family=font_family(lang))
    return fig


def _source_line(ds: Dataset) -> str:
    prov = ds.provenance.get("flows", {})
    src = prov.get("source")
    ver = prov.get("version")
    flows = f"{src} ({ver})" if src and ver else (src or "")
    parts = [ds.name] + ([f"flows: {flows}"] if flows else [])
    if ds.synthetic:
        parts.append(SYNTHETIC_LABEL)
    parts.append("analysis: chokepoint-analytics")
    return "; ".join(parts)


def _chart_page(briefed: go.Figure, caption: str, how: str, number: int, page: int,
                total: int, lang: str) -> go.Figure:
    """The template figure made PAGE_HEIGHT tall, the caption in the band below.

    The plot area keeps its size and place (the bottom margin grows by the band), so the
    chart, its source line and its date sit exactly as in the PNG.
    """
    fig = go.Figure(briefed)
    m = fig.layout.margin
    top, bottom, left, right = m.t, m.b, m.l, m.r
    extra = PAGE_HEIGHT - HEIGHT
    ph = HEIGHT - top - bottom
    pw = PAGE_WIDTH - left - right
    fig.update_layout(height=PAGE_HEIGHT, margin=dict(b=bottom + extra))
    fig.layout.title.y = 1 - (1 - 0.965) * HEIGHT / PAGE_HEIGHT  # same px from the top
    x0, x1 = (16 - left) / pw, 1 + (right - 16) / pw
    rule = -(bottom + 6) / ph
    fig.add_shape(type="line", xref="paper", yref="paper", x0=x0, x1=x1, y0=rule, y1=rule,
                  line=dict(color=_RULE, width=1))
    width = 172 if lang != "ja" else 150
    text = f"<b>{_t('figure', lang, n=number)}.</b> " + _br(caption, width, max_lines=4)
    text += (f"<br><span style='font-size:12px;color:{_MUTED}'><i>{_t('method', lang)}:"
             f"</i> {_br(how, int(width * 1.15), max_lines=2)}</span>")
    fig.add_annotation(text=text, x=x0, y=-(bottom + 16) / ph, xref="paper", yref="paper",
                       xanchor="left", yanchor="top", align="left", showarrow=False,
                       font=dict(size=14, color=_INK))
    fig.add_annotation(text=_t("page", lang, n=page, total=total), x=x1,
                       y=-(bottom + extra - 12) / ph, xref="paper", yref="paper",
                       xanchor="right", yanchor="bottom", showarrow=False,
                       font=dict(size=11, color=_MUTED))
    return fig


def _blank() -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, xaxis=dict(visible=False, range=[0, 1]),
                      yaxis=dict(visible=False, range=[0, 1]), showlegend=False,
                      plot_bgcolor="white")
    return fig


def _page_number(fig: go.Figure, lang: str, n: int, total: int) -> go.Figure:
    fig.add_annotation(text=_t("page", lang, n=n, total=total), x=1.0, y=-0.08,
                       xref="paper", yref="paper", xanchor="right", yanchor="top",
                       showarrow=False, font=dict(size=11, color=_MUTED))
    return fig


def _title_page(ctx: _Ctx, title: str, meta: BriefingMeta, contents: list[tuple[str, int]],
                findings: pd.DataFrame, total: int) -> go.Figure:
    lang = ctx.lang
    fig = _blank()
    fig.add_shape(type="rect", xref="paper", yref="paper", x0=0, x1=0.008, y0=0.74, y1=1.0,
                  fillcolor=PALETTE[1], line_width=0)
    fig.add_annotation(text=f"<b>{_br(title, 58, 3)}</b>", x=0.03, y=1.0, xref="paper",
                       yref="paper", xanchor="left", yanchor="top", showarrow=False,
                       align="left", font=dict(size=32, color=PALETTE[0]))
    sub = _t("subtitle", lang, year=ctx.year, coal=ctx.coal_name)
    fig.add_annotation(text=_br(sub, 110, 2), x=0.03, y=0.78, xref="paper", yref="paper",
                       xanchor="left", yanchor="top", showarrow=False, align="left",
                       font=dict(size=17, color=_INK))
    # headline numbers
    num = findings.set_index("key")["number"]
    tiles = [
        ("k_risk", f"{num.get('risk'):.0f}/100" if np.isfinite(num.get("risk", np.nan))
         else "–"),
        ("k_share", _pct(num.get("coalition_share", np.nan))),
        ("k_diversion", _pct(num.get("diversion_exposure", np.nan))),
    ]
    for k, (key, value) in enumerate(tiles):
        xa = 0.03 + k * 0.235
        fig.add_shape(type="rect", xref="paper", yref="paper", x0=xa, x1=xa + 0.215,
                      y0=0.47, y1=0.66, fillcolor="#f4f6f8", line=dict(color=_RULE, width=1))
        fig.add_annotation(text=f"<b>{value}</b>", x=xa + 0.015, y=0.645, xref="paper",
                           yref="paper", xanchor="left", yanchor="top", showarrow=False,
                           font=dict(size=30, color=PALETTE[0] if k else PALETTE[7]))
        fig.add_annotation(text=_t(key, lang), x=xa + 0.015, y=0.49, xref="paper",
                           yref="paper", xanchor="left", yanchor="bottom", showarrow=False,
                           font=dict(size=13, color=_MUTED))
    ev = _t("m_none", lang)
    if ctx.ey is not None and ctx.event is not None:
        ev = (f"{ctx.ey} ({pd.Timestamp(ctx.event['date']):%Y-%m-%d} "
              f"{ctx.event.get('jurisdiction', '')}: {ctx.event.get('event_id', '')})")
    lines = [
        (_t("m_dataset", lang), ctx.ds.label),
        (_t("m_coalition", lang),
         f"{ctx.coal_name} ({_t('m_members', lang, n=len(ctx.members))})"),
        (_t("m_year", lang), str(ctx.year)),
        (_t("m_event", lang), ev),
        (_t("m_prepared", lang), _t("prepared_with", lang, date=meta.date)),
    ]
    body = "<br>".join(f"<b>{k}</b>: {_br(v, 68, 1)}" for k, v in lines)
    fig.add_annotation(text=body, x=0.03, y=0.38, xref="paper", yref="paper",
                       xanchor="left", yanchor="top", showarrow=False, align="left",
                       font=dict(size=13, color=_INK))
    toc_width = 84 if lang != "ja" else 68
    toc = "<br>".join(f"{_br(name, toc_width, 1)}  ·  {p}" for name, p in contents)
    fig.add_annotation(text=f"<b>{_t('contents', lang)}</b><br>{toc}", x=0.56, y=0.38,
                       xref="paper", yref="paper", xanchor="left", yanchor="top",
                       showarrow=False, align="left", font=dict(size=12, color=_INK))
    if ctx.ds.synthetic:
        fig.add_annotation(text=f"<b>{label('synthetic', lang)}</b> · "
                                f"{_br(_t('synthetic_note', lang), 130, 1)}",
                           x=0.03, y=0.0, xref="paper", yref="paper", xanchor="left",
                           yanchor="bottom", showarrow=False, align="left",
                           bgcolor="#fde8d3", borderpad=6,
                           font=dict(size=13, color=PALETTE[0]))
    page = briefing_figure(fig, meta, width=PAGE_WIDTH, height=PAGE_HEIGHT)
    return _with_font(_page_number(page, lang, 1, total), lang)


def _findings_page(ctx: _Ctx, findings: pd.DataFrame, meta: BriefingMeta,
                   total: int) -> go.Figure:
    lang = ctx.lang
    widths = (0.21, 0.37, 0.42)
    px_per_unit = 7.0 if lang != "ja" else 7.8  # 14 px text; bold CJK runs wide
    units = [int(w * (PAGE_WIDTH - 120) / px_per_unit) for w in widths]
    cells = [
        [f"<b>{_br(v, units[0])}</b>" for v in findings["finding"]],
        [_br(v, units[1], 3) for v in findings["value"]],
        [_br(v, units[2], 3) for v in findings["detail"]],
    ]
    n = len(findings)
    fills = [["#f4f6f8" if i % 2 == 0 else "white" for i in range(n)]] * 3
    fig = go.Figure(go.Table(
        columnwidth=list(widths),
        header=dict(values=[f"<b>{_t(k, lang)}</b>" for k in
                            ("col_finding", "col_value", "col_detail")],
                    fill_color=PALETTE[0], font=dict(color="white", size=14),
                    align="left", height=30, line_color=PALETTE[0]),
        cells=dict(values=cells, fill_color=fills, align="left", height=28,
                   font=dict(size=14, color=_INK), line_color=_RULE),
    ))
    page = briefing_figure(fig, meta, width=PAGE_WIDTH, height=PAGE_HEIGHT)
    return _with_font(_page_number(page, lang, 2, total), lang)


def _merge_pdfs(pages: list[bytes], title: str, subject: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in pages:
        writer.append(PdfReader(io.BytesIO(data)))
    writer.add_metadata({"/Title": title, "/Subject": subject,
                         "/Creator": "chokepoint-analytics (analytics.brief)"})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------- entry point
def make_brief(
    dataset: Dataset,
    *,
    category: str,
    destination: str,
    coalition: str | Sequence[str] = "group_a",
    year: int | None = None,
    lang: str = "en",
    out: str | os.PathLike,
    cflows: pd.DataFrame | None = None,
    config: Mapping[str, Any] | str | os.PathLike | None = None,
    date: str | None = None,
) -> BriefResult:
    """Write a briefing pack on ``category`` x ``destination`` into the folder ``out``.

    Parameters
    ----------
    dataset : Dataset
        HS6 flows (used by the difference-in-differences) and the reference tables.
    category : str
        A ``category_id`` of ``dataset.categories``.
    destination : str
        ISO3 of a country importing the category in ``year``.
    coalition : str or list of str
        The controlling coalition (preset or ISO3 codes), default Japan's Group A plus
        Japan.
    year : int, optional
        Reference year (default: the latest year with flows of the category).
    lang : {"en", "ja"}
        Language of titles, captions, findings, country and category names.
    out : path-like
        Folder to write (created when missing; files of an earlier pack are replaced).
    cflows : DataFrame, optional
        Category flows (e.g. a store's precomputed ``category_flows``); computed from
        ``dataset`` when omitted.
    config : mapping or path, optional
        Risk configuration (default: the bundled ``risk_config.toml``).
    date : str, optional
        Date printed on every page (default: today, ISO format).

    Returns
    -------
    BriefResult
        The paths written and the findings table.

    Raises
    ------
    UnknownCategory, UnknownCountry
        The category or destination is not valid; the message lists the valid values.
    AnalysisError
        No flows of the category in ``year``.
    ConfigError
        Unknown language or coalition preset, bad risk configuration.
    analytics.briefing.ExportError
        No Chromium for the static export.
    """
    ctx = _check(dataset, cflows, category, destination, coalition, year, lang)
    cfg = config if isinstance(config, Mapping) else load_config(config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    date = date or _dt.date.today().isoformat()
    res = _analyse(ctx, cfg)
    findings = _findings(ctx, res, cfg)
    charts, skipped = _charts(ctx, res, cfg)

    title = _t("title", lang, cat=ctx.cat_name, dest=ctx.dest_name)
    source = _source_line(ctx.ds)
    total = 2 + len(charts)
    contents = [(_t("findings_title", lang, cat=ctx.cat_name, dest=ctx.dest_name,
                    year=ctx.year), 2)]
    contents += [(f"{_t('figure', lang, n=k + 1)}: {c['title']}", k + 3)
                 for k, c in enumerate(charts)]

    def meta(t: str, sub: str = "") -> BriefingMeta:
        return BriefingMeta(title=t, subtitle=sub, source=source, date=date,
                            synthetic=ctx.ds.synthetic, lang=lang)

    pages = [
        export_figure(_title_page(ctx, title, meta(_t("pack", lang), ctx.ds.label),
                                  contents, findings, total), "pdf"),
        export_figure(_findings_page(
            ctx, findings,
            meta(_t("findings_title", lang, cat=ctx.cat_name, dest=ctx.dest_name,
                    year=ctx.year),
                 _t("findings_sub", lang, coal=ctx.coal_name)), total), "pdf"),
    ]
    written: dict[str, tuple[Path, Path]] = {}
    for k, c in enumerate(charts):
        briefed = _with_font(briefing_figure(c["fig"],
                                             meta(c["title"], c["subtitle"])), lang)
        png, svg = out / f"{c['stem']}.png", out / f"{c['stem']}.svg"
        atomic_write_bytes(png, export_figure(briefed, "png"))
        atomic_write_bytes(svg, export_figure(briefed, "svg"))
        written[c["stem"]] = (png, svg)
        page = _chart_page(briefed, c["caption"], c["how"], k + 1, k + 3, total, lang)
        pages.append(export_figure(page, "pdf"))
    for stem in set(CHARTS) - set(written):  # a chart of an earlier pack left out now
        for ext in ("png", "svg"):
            (out / f"{stem}.{ext}").unlink(missing_ok=True)
    pdf = atomic_write_bytes(out / "brief.pdf",
                             _merge_pdfs(pages, title, f"{source}; {date}"))
    write_table(findings, out / "findings.csv")
    return BriefResult(out=out, pdf=pdf, charts=written, findings=findings,
                       skipped=skipped, title=title, pages=len(pages))
