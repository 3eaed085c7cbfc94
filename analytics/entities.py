"""Listed entities as red flags: name normalisation, per-country counts, list merging,
fuzzy screening of counterparty names.

Pure functions on an :class:`~analytics.schemas.Entities` frame (``name``, ``aliases``
("; "-separated), ``country`` (ISO3), ``concern``, ``list_name``, ``source``), such as the
ones returned by :func:`analytics.sources.meti.read_meti_end_user_list` and
:func:`analytics.sources.meti.read_specified_entities`.

Screening is a *red flag* for an analyst, never a decision: :func:`match_names` returns
every candidate above the threshold with its score, the string that matched (name or
alias) and whether the normalised strings are identical, plus one row for each query that
found nothing, so no query disappears silently.

>>> normalize_name("OOO Sky Tech")
'sky tech'
>>> normalize_name("SKY-TECH, LLC.")
'sky tech'
>>> normalize_name("株式会社インテグラル")
'インテグラル'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from analytics.errors import ConfigError
from analytics.schemas import STR, Entities, validate

__all__ = [
    "LEGAL_FORMS",
    "LEGAL_FORMS_CJK",
    "ALL",
    "normalize_name",
    "split_aliases",
    "split_concerns",
    "entities_by_country",
    "combine_lists",
    "match_names",
]

#: Legal-form words and abbreviations removed from the start and end of a Latin-script
#: name (after punctuation is removed and the text casefolded). Multi-word forms are
#: matched as a whole ("joint stock company"). Words that carry identity -- "trading",
#: "group", "holding", "industries", "international", "npo" -- are kept on purpose.
LEGAL_FORMS: tuple[str, ...] = (
    # English / international
    "limited liability company", "limited liability partnership", "public limited company",
    "private limited", "company limited", "co ltd", "limited", "ltd", "llc", "l l c",
    "llp", "lp", "plc", "inc", "incorporated", "corp", "corporation", "company", "co",
    "pte", "pvt", "pty", "private", "sdn bhd", "sdn", "bhd", "fze", "fzco", "fzc",
    "fz llc", "fz", "dmcc", "jv", "j v",
    # Russian / CIS (Latin transliteration and Cyrillic)
    "public joint stock company", "open joint stock company", "closed joint stock company",
    "joint stock company", "joint-stock company", "jsc", "ojsc", "cjsc", "pjsc", "ao",
    "oao", "zao", "pao", "nao", "ooo", "too", "tov", "fgup", "gup",
    "ооо", "оао", "зао", "пао", "ао", "нао", "тоо", "фгуп",
    # European
    "gmbh", "mbh", "ag", "kg", "sa", "sarl", "srl", "spa", "s p a", "bv", "nv", "ab",
    "oy", "as", "a s", "sas", "kft", "zrt", "sp z o o",
)

#: Legal forms in Japanese and Chinese script, removed wherever they occur (CJK names
#: have no spaces, and these strings never carry identity).
LEGAL_FORMS_CJK: tuple[str, ...] = (
    "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "有限責任会社",
    "公開株式会社", "非公開株式会社", "連邦国家単一企業", "(株)", "(有)",
    "股份有限公司", "有限责任公司", "有限責任公司", "有限公司", "责任公司", "責任公司",
)

#: Marker of the margins in :func:`entities_by_country`.
ALL = "all"

_LEGAL_TOKENS = sorted({tuple(f.split()) for f in LEGAL_FORMS}, key=len, reverse=True)
_CJK_FORMS = sorted(LEGAL_FORMS_CJK, key=len, reverse=True)
_APOSTROPHES = re.compile(r"['’‘`´]")
_DOT_IN_WORD = re.compile(r"(?<=\w)\.(?=\w)")
_SPACES = re.compile(r"\s+")


def _strip_punctuation(text: str) -> str:
    """Replace punctuation and symbols by spaces (letters, digits and marks stay)."""
    return "".join(" " if unicodedata.category(ch)[0] in "PSZ" else ch for ch in text)


def normalize_name(name: object) -> str:
    """A comparable form of an entity name.

    Steps: Unicode NFKC (full-width letters and punctuation become ASCII, ``㈱`` becomes
    ``(株)``); casefold; remove Japanese/Chinese legal forms anywhere
    (:data:`LEGAL_FORMS_CJK`, e.g. ``株式会社``); delete apostrophes and dots inside words
    (``Qa'ida`` -> ``qaida``, ``D.E.S.`` -> ``des``); replace other punctuation and
    symbols by spaces; drop leading and trailing legal-form words
    (:data:`LEGAL_FORMS`: ``llc``, ``ltd``, ``co``, ``jsc``, ``ooo``, ``limited``,
    ``gmbh`` ...), repeatedly, and a leading ``the``; collapse spaces. Legal forms in the
    *middle* of a name stay (they are often part of it). A name made only of legal forms
    keeps them (``"Limited"`` -> ``"limited"``). Missing values give ``""``.

    >>> normalize_name("DES INTERNATIONAL CO., LTD.")
    'des international'
    >>> normalize_name("D.E.S. International")
    'des international'
    >>> normalize_name("Joint Stock Company Uraltransmash")
    'uraltransmash'
    >>> normalize_name("Candid General Trading LLC")
    'candid general trading'
    >>> normalize_name("  Ｔｉｖａ  Kara Co. Ltd. ")
    'tiva kara'
    """
    if name is None or (isinstance(name, float) and np.isnan(name)) or name is pd.NA:
        return ""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    for form in _CJK_FORMS:
        text = text.replace(form, " ")
    text = _APOSTROPHES.sub("", text)
    text = _DOT_IN_WORD.sub("", text)
    tokens = _strip_punctuation(text).split()
    if not tokens:
        return ""
    kept = list(tokens)
    changed = True
    while changed and kept:
        changed = False
        if kept[0] == "the" and len(kept) > 1:
            kept = kept[1:]
            changed = True
        for form in _LEGAL_TOKENS:
            n = len(form)
            if len(kept) > n and tuple(kept[:n]) == form:
                kept = kept[n:]
                changed = True
            if len(kept) > n and tuple(kept[-n:]) == form:
                kept = kept[:-n]
                changed = True
    return " ".join(kept or tokens)


def split_aliases(aliases: object) -> list[str]:
    """The aliases of one entity as a list ("; "-separated text, missing -> ``[]``).

    >>> split_aliases("Taco LLC; iJet ;; ")
    ['Taco LLC', 'iJet']
    """
    if aliases is None or aliases is pd.NA or (isinstance(aliases, float) and np.isnan(aliases)):
        return []
    return [a.strip() for a in str(aliases).split(";") if a.strip()]


#: the concern of an entity whose list gives none
UNSPECIFIED = "unspecified"
_CONCERN_SEP = re.compile(r"\s*[,;]\s*")


def split_concerns(concern: object) -> list[str]:
    """The single concerns of a ``concern`` text (separated by "," or ";").

    A missing concern is ``["unspecified"]``; blank parts are dropped.

    >>> split_concerns("nuclear, missile; conventional weapons")
    ['nuclear', 'missile', 'conventional weapons']
    >>> split_concerns(None), split_concerns("")
    (['unspecified'], [])
    """
    if concern is None or (isinstance(concern, float) and np.isnan(concern)) \
            or concern is pd.NA:
        return [UNSPECIFIED]
    return [c for c in _CONCERN_SEP.split(str(concern).strip()) if c]


def _join_unique(values: Iterable[object]) -> str | None:
    """Distinct "; "-separated parts of the values, in order, joined with "; "."""
    out: dict[str, None] = {}
    for v in values:
        for part in split_aliases(v):
            out.setdefault(part, None)
    return "; ".join(out) if out else None


# --------------------------------------------------------------------------- counts
def entities_by_country(entities: pd.DataFrame) -> pd.DataFrame:
    """Listed entities per country, overall and per list and concern (a tidy frame).

    Columns ``country``, ``list_name``, ``concern``, ``n``. ``list_name == "all"`` rows
    count the country's entities over all lists, ``concern == "all"`` rows over all
    concerns; the other rows count entities per list and per *single* concern: a concern
    text such as ``"nuclear, missile"`` counts once for ``nuclear`` and once for
    ``missile`` (so concern rows can sum to more than the ``all`` row). A missing concern
    counts as ``"unspecified"``; a missing country stays missing. Sorted by the country's
    total (descending), then country, list and concern.

    >>> ents = pd.DataFrame({"name": ["A", "B", "C"], "aliases": [None] * 3,
    ...     "country": ["IRN", "IRN", "CHN"], "concern": ["nuclear, missile", "missile", None],
    ...     "list_name": ["EUL", "EUL", "EUL"], "source": [None] * 3})
    >>> entities_by_country(ents)
      country list_name      concern  n
    0     IRN       EUL      missile  2
    1     IRN       EUL      nuclear  1
    2     IRN       EUL          all  2
    3     IRN       all          all  2
    4     CHN       EUL  unspecified  1
    5     CHN       EUL          all  1
    6     CHN       all          all  1
    """
    ents = validate(entities, Entities, source="entities")
    ents = ents.assign(_id=np.arange(len(ents)))
    exploded = ents.assign(concern=[split_concerns(c) for c in ents["concern"]]).explode(
        "concern")
    exploded = exploded[exploded["concern"].notna()]
    detail = (exploded.groupby(["country", "list_name", "concern"], dropna=False)["_id"]
              .nunique().rename("n").reset_index())
    per_list = (ents.groupby(["country", "list_name"], dropna=False)["_id"].nunique()
                .rename("n").reset_index().assign(concern=ALL))
    total = (ents.groupby(["country"], dropna=False)["_id"].nunique().rename("n")
             .reset_index().assign(list_name=ALL, concern=ALL))
    out = pd.concat([detail, per_list, total], ignore_index=True)
    rank = total.set_index("country")["n"]
    out["_total"] = out["country"].map(rank).fillna(0).to_numpy()
    out["_all_list"] = out["list_name"].eq(ALL)
    out["_all_concern"] = out["concern"].eq(ALL)
    out["_neg_n"] = -out["n"]
    out = out.sort_values(
        ["_total", "country", "_all_list", "list_name", "_all_concern", "_neg_n", "concern"],
        ascending=[False, True, True, True, True, True, True], kind="stable",
        na_position="last")
    out = out[["country", "list_name", "concern", "n"]].reset_index(drop=True)
    for col in ("country", "list_name", "concern"):
        out[col] = out[col].astype(STR)
    out["n"] = out["n"].astype("int64")
    return out


# --------------------------------------------------------------------------- merging
def combine_lists(*frames: pd.DataFrame) -> pd.DataFrame:
    """Concatenate entity lists and merge entries of the same entity.

    Two rows are the same entity when their :func:`normalize_name` and ``country`` are
    equal (a missing country only matches a missing country). The first row's ``name``
    is kept; the other rows' names (when they differ) and all aliases become ``aliases``;
    ``concern``, ``list_name`` and ``source`` are the distinct values joined with "; ",
    in order of appearance. The result is an :class:`~analytics.schemas.Entities` frame
    in the order of first appearance.

    >>> a = pd.DataFrame({"name": ["Sky Tech LLC"], "aliases": [None], "country": ["ARE"],
    ...     "concern": ["missile"], "list_name": ["METI End User List"], "source": [None]})
    >>> b = pd.DataFrame({"name": ["OOO Sky Tech"], "aliases": ["SkyTech"],
    ...     "country": ["ARE"], "concern": ["export prohibition (Russia-related)"],
    ...     "list_name": ["MOFA/METI specified entities (third countries)"],
    ...     "source": [None]})
    >>> out = combine_lists(a, b)
    >>> out[["name", "aliases"]].to_dict("records")
    [{'name': 'Sky Tech LLC', 'aliases': 'OOO Sky Tech; SkyTech'}]
    >>> out.loc[0, "list_name"]
    'METI End User List; MOFA/METI specified entities (third countries)'
    """
    if not frames:
        raise ConfigError("combine_lists needs at least one Entities frame")
    parts = [validate(f, Entities, source=f"entities frame {i + 1}")
             for i, f in enumerate(frames)]
    ents = pd.concat(parts, ignore_index=True)
    return _merge_duplicates(ents)


def _merge_duplicates(ents: pd.DataFrame) -> pd.DataFrame:
    """Merge rows with the same normalised name and country (see :func:`combine_lists`)."""
    if ents.empty:
        return validate(ents, Entities, source="entities")
    key_name = ents["name"].map(normalize_name)
    key_country = ents["country"].astype(object).where(ents["country"].notna(), "")
    keys = list(zip(key_name, key_country, strict=True))
    groups: dict[tuple[str, str], list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    recs = []
    for idx in groups.values():
        sub = ents.iloc[idx]
        first = sub.iloc[0]
        name = str(first["name"])
        others = [n for n in sub["name"] if str(n) != name]
        aliases = _join_unique([*others, *sub["aliases"].tolist()])
        if aliases:
            aliases = "; ".join(a for a in split_aliases(aliases) if a != name) or None
        recs.append({
            "name": name,
            "aliases": aliases,
            "country": first["country"],
            "concern": _join_unique(sub["concern"].tolist()),
            "list_name": _join_unique(sub["list_name"].tolist()),
            "source": _join_unique(sub["source"].tolist()),
        })
    out = pd.DataFrame.from_records(recs, columns=Entities.columns())
    return validate(out, Entities, source="entities")


# --------------------------------------------------------------------------- matching
_SCORERS: dict[str, Callable[..., float]] = {
    "token_sort_ratio": fuzz.token_sort_ratio,
    "token_set_ratio": fuzz.token_set_ratio,
    "WRatio": fuzz.WRatio,
    "ratio": fuzz.ratio,
}

_MATCH_COLUMNS = ["query", "query_country", "candidate", "matched_on", "country",
                  "list_name", "concern", "score", "exact"]


def match_names(
    names: str | Iterable[str],
    entities: pd.DataFrame,
    *,
    countries: str | Sequence[str | None] | None = None,
    threshold: float = 90,
    limit: int | None = 3,
    scorer: str | Callable[..., float] = "token_sort_ratio",
) -> pd.DataFrame:
    """Screen names against listed entities (names and aliases) by fuzzy matching.

    Every query name and every entity name/alias is first put through
    :func:`normalize_name`, then compared with ``rapidfuzz.process.extract`` using
    ``scorer`` (default ``fuzz.token_sort_ratio``: word order does not matter, a missing
    word costs; ``"WRatio"`` is more permissive with partial matches). An entity scores
    the best of its name and aliases. For each query the ``limit`` best entities scoring
    at least ``threshold`` (0-100) are returned, best first.

    Blocking by country: when a query has a country (``countries``: one ISO3 code for
    all queries, or one code or ``None`` per query), only entities of that country, and
    entities without a country (they cannot be ruled out), are candidates.

    Parameters
    ----------
    names : str or iterable of str
        Counterparty names to screen.
    entities : DataFrame
        An :class:`~analytics.schemas.Entities` frame.
    countries : str or sequence, optional
        ISO3 code(s) of the queries, for blocking.
    threshold : float, default 90
        Minimum score of a candidate (0-100).
    limit : int or None, default 3
        Maximum number of candidates per query (``None``: all above the threshold).
    scorer : str or callable, default "token_sort_ratio"
        ``"token_sort_ratio"``, ``"token_set_ratio"``, ``"WRatio"``, ``"ratio"`` or a
        rapidfuzz-compatible scorer.

    Returns
    -------
    DataFrame
        One row per (query, candidate): ``query``, ``query_country``, ``candidate`` (the
        entity's listed name), ``matched_on`` (the name or alias that scored best),
        ``country``, ``list_name``, ``concern``, ``score`` (0-100), ``exact`` (the
        normalised query equals the normalised ``matched_on``). A query without any
        candidate gets one row with missing candidate and score, so nothing is dropped
        silently.

    Raises
    ------
    ConfigError
        Unknown scorer, threshold outside 0-100, ``limit`` < 1, or ``countries`` of the
        wrong length.

    Examples
    --------
    >>> ents = pd.DataFrame({"name": ["Sky Tech LLC", "Blue Ocean Trading FZE"],
    ...     "aliases": [None, "Blue Ocean General Trading"], "country": ["ARE", "ARE"],
    ...     "concern": ["missile", "nuclear"], "list_name": ["EUL", "EUL"],
    ...     "source": [None, None]})
    >>> m = match_names(["OOO Sky Tech", "Red Mountain Mining"], ents)
    >>> m[["query", "candidate", "score", "exact"]]
                     query     candidate  score  exact
    0         OOO Sky Tech  Sky Tech LLC  100.0   True
    1  Red Mountain Mining           NaN    NaN  False
    """
    if isinstance(names, str):
        queries = [names]
    else:
        queries = ["" if q is None else str(q) for q in names]
    if isinstance(scorer, str):
        if scorer not in _SCORERS:
            raise ConfigError(f"unknown scorer {scorer!r}; use one of {sorted(_SCORERS)} "
                              "or a rapidfuzz scorer function")
        score_fn = _SCORERS[scorer]
    else:
        score_fn = scorer
    if not 0 <= threshold <= 100:
        raise ConfigError(f"threshold {threshold!r} is outside 0-100")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit {limit!r} must be at least 1 (or None for all)")
    if countries is None or isinstance(countries, str):
        q_countries: list[str | None] = [countries] * len(queries)
    else:
        q_countries = [None if c is None or c is pd.NA or (isinstance(c, float) and np.isnan(c))
                       else str(c) for c in countries]
        if len(q_countries) != len(queries):
            raise ConfigError(f"countries has {len(q_countries)} entries but there are "
                              f"{len(queries)} names; give one code per name or a single "
                              "code")
    q_countries = [c.strip().upper() if c else None for c in q_countries]
    ents = validate(entities, Entities, source="entities").reset_index(drop=True)

    # choices: (entity row, string) for every name and alias
    ch_ent: list[int] = []
    ch_text: list[str] = []
    ch_norm: list[str] = []
    for i, (nm, al) in enumerate(zip(ents["name"], ents["aliases"], strict=True)):
        for text in [str(nm), *split_aliases(al)]:
            norm = normalize_name(text)
            if norm:
                ch_ent.append(i)
                ch_text.append(text)
                ch_norm.append(norm)
    ch_ent_arr = np.asarray(ch_ent, dtype=np.int64)
    ent_country = ents["country"].astype(object).where(ents["country"].notna(), None)
    ch_country = np.asarray([ent_country.iloc[i] for i in ch_ent], dtype=object)

    block_cache: dict[str | None, np.ndarray] = {}

    def block(country: str | None) -> np.ndarray:
        if country not in block_cache:
            if country is None:
                block_cache[country] = np.arange(len(ch_norm))
            else:
                mask = (ch_country == country) | pd.isna(ch_country)
                block_cache[country] = np.flatnonzero(mask)
        return block_cache[country]

    rows = []
    for query, qc in zip(queries, q_countries, strict=True):
        qn = normalize_name(query)
        best: dict[int, tuple[float, int]] = {}
        if qn:
            idx = block(qc)
            choices = [ch_norm[k] for k in idx]
            hits = process.extract(qn, choices, scorer=score_fn, limit=None,
                                   score_cutoff=threshold, processor=None)
            for _text, score, pos in hits:
                k = int(idx[pos])
                e = int(ch_ent_arr[k])
                if e not in best or score > best[e][0]:
                    best[e] = (float(score), k)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
        if limit is not None:
            ranked = ranked[:limit]
        if not ranked:
            rows.append({"query": query, "query_country": qc, "candidate": None,
                         "matched_on": None, "country": None, "list_name": None,
                         "concern": None, "score": np.nan, "exact": False})
        for e, (score, k) in ranked:
            rows.append({
                "query": query, "query_country": qc, "candidate": ents.at[e, "name"],
                "matched_on": ch_text[k], "country": ents.at[e, "country"],
                "list_name": ents.at[e, "list_name"], "concern": ents.at[e, "concern"],
                "score": round(score, 1), "exact": ch_norm[k] == qn,
            })
    out = pd.DataFrame.from_records(rows, columns=_MATCH_COLUMNS)
    for col in ("query", "query_country", "candidate", "matched_on", "country",
                "list_name", "concern"):
        out[col] = out[col].astype(STR)
    out["score"] = out["score"].astype("float64")
    out["exact"] = out["exact"].astype(bool)
    return out
