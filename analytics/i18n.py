"""Display labels in English and Japanese for figures and briefing packs.

>>> label("value_usd", "ja")
'金額（米ドル）'
>>> label("unknown_key", "ja")
'unknown_key'
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

__all__ = ["LANGS", "label", "country_name", "category_name", "names_for"]

LANGS = ("en", "ja")

_LABELS: dict[str, tuple[str, str]] = {
    "value_usd": ("Value (USD)", "金額（米ドル）"),
    "value_usd_bn": ("Value (USD bn)", "金額（十億米ドル）"),
    "value_usd_m": ("Value (USD m)", "金額（百万米ドル）"),
    "year": ("Year", "年"),
    "share": ("Share", "シェア"),
    "risk": ("Risk score (0-100)", "リスクスコア（0-100）"),
    "risk_short": ("Risk", "リスク"),
    "category": ("Technology category", "技術カテゴリー"),
    "destination": ("Destination", "仕向地"),
    "origin": ("Origin", "原産国"),
    "hub": ("Hub (last shipper)", "経由地（最終出荷国）"),
    "exporter": ("Exporter", "輸出国"),
    "importer": ("Importer", "輸入国"),
    "supplier": ("Supplier", "供給者"),
    "hhi": ("Concentration (HHI)", "集中度（HHI）"),
    "coalition": ("Coalition", "有志国連合"),
    "estimate": ("Effect on log exports (95 % CI)", "輸出（対数）への効果（95％信頼区間）"),
    "contribution": ("Contribution to risk (points)", "リスクへの寄与（ポイント）"),
    "source": ("Source", "出典"),
    "synthetic": ("SYNTHETIC DEMO DATA", "合成デモデータ"),
    "direct": ("direct", "直接"),
    "via hub": ("via hub", "第三国経由"),
    "via coalition": ("via coalition partner", "連合国経由"),
    "others": ("Others", "その他"),
    "event": ("Policy event", "政策イベント"),
    "sensitivity": ("Category sensitivity", "カテゴリーの機微度"),
    "concern": ("Destination concern", "仕向地の懸念度"),
    "forward_exposure": ("Forward exposure", "転送エクスポージャー"),
    "diversion_exposure": ("Diversion exposure", "迂回エクスポージャー"),
    "surge": ("Surge", "急増"),
    "leverage": ("Coalition leverage", "連合のレバレッジ"),
    "listed_entities": ("Listed entities", "リスト掲載者"),
    "traced_share": ("Share of supply (traced to origin)", "供給シェア（原産地ベース）"),
    "direct_share": ("Share of supply (as shipped)", "供給シェア（出荷国ベース）"),
    "created": ("Created", "作成日"),
    "page": ("Page", "ページ"),
}


def label(key: str, lang: str = "en") -> str:
    """Display label of ``key`` in ``lang`` (the key itself when unknown)."""
    pair = _LABELS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "ja" else pair[0]


@lru_cache(maxsize=4)
def _country_names(lang: str) -> dict[str, str]:
    from analytics.reference import country_names

    return country_names(lang)


def country_name(iso3: str, lang: str = "en") -> str:
    """Display name of a country code (the code when unknown)."""
    return _country_names(lang).get(iso3, iso3)


def category_name(category_id: str, categories: pd.DataFrame | None = None,
                  lang: str = "en") -> str:
    """Display name of a category (the id when unknown)."""
    if categories is None:
        from analytics.reference import categories as _cats

        categories = _cats()
    row = categories[categories["category_id"] == category_id]
    if row.empty:
        return category_id
    if lang == "ja" and "name_ja" in row and pd.notna(row["name_ja"].iloc[0]):
        return str(row["name_ja"].iloc[0])
    return str(row["name"].iloc[0])


def names_for(codes, lang: str = "en") -> dict[str, str]:
    """code -> display name for a set of country codes."""
    names = _country_names(lang)
    return {c: names.get(c, c) for c in codes}
