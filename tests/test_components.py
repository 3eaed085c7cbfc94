"""Dashboard components: URL query encoding, decoding and typed restoration."""

from dashboards.components import _typed_like, encode_query, parse_search, query_value


def test_encode_and_parse_round_trip():
    q = encode_query({"year": 2023, "categories": ["a", "b"], "empty": None, "blank": ""})
    assert q == "?year=2023&categories=a%2Cb"
    assert parse_search(q) == {"year": "2023", "categories": "a,b"}
    assert parse_search("") == {} and parse_search(None) == {}


def test_typed_like_follows_the_initial_value():
    assert _typed_like("2021", 2023, 2024) == 2021
    assert _typed_like("a,b", [], ["x"]) == ["a", "b"]
    assert _typed_like("0.5", 1.0, 2.0) == 0.5
    assert _typed_like("true", False, False) is True
    assert _typed_like(None, 2023, 2024) == 2023  # key absent: the page's initial value
    assert _typed_like("abc", 2023, 2024) == 2024  # not a number: keep the current value


def test_query_value_validates_against_options():
    opts = [{"label": "x", "value": "group_a"}, {"label": "y", "value": "g7"}]
    assert query_value({"c": "g7"}, "c", "group_a", options=opts) == "g7"
    assert query_value({"c": "nope"}, "c", "group_a", options=opts) == "group_a"
    assert query_value({"y": "x1"}, "y", 2023, cast=int) == 2023
    assert query_value({"m": "g7,bad"}, "m", [], options=opts, multi=True) == ["g7"]


def test_an_emptied_control_round_trips_through_the_url():
    # dropped by default (links built by the pages), kept for the URL-state controls
    assert encode_query({"year": 2023, "categories": []}) == "?year=2023"
    q = encode_query({"year": 2023, "categories": [], "dest": None}, keep_empty=["categories"])
    assert q == "?year=2023&categories="
    parsed = parse_search(q)
    assert parsed == {"year": "2023", "categories": ""}
    # back/forward: an explicitly emptied control is restored empty, not to its initial value
    assert _typed_like(parsed["categories"], ["chpl_tier1"], ["x"]) == []
    assert _typed_like("", "RUS", "KGZ") is None
    # a key absent from the query (the page opened without it) still gives the initial value
    assert _typed_like(parsed.get("top"), 25, 10) == 25
    assert _typed_like(None, ["chpl_tier1"], []) == ["chpl_tier1"]


def test_query_value_reads_an_emptied_clearable_control():
    opts = [{"label": "x", "value": "a"}, {"label": "y", "value": "b"}]
    # a page opened with no query gets its defaults
    assert query_value({}, "c", ["a"], options=opts, multi=True, clearable=True) == ["a"]
    assert query_value({}, "d", "a", options=opts, clearable=True) == "a"
    # key= on a clearable control: emptied on purpose
    assert query_value({"c": ""}, "c", ["a"], options=opts, multi=True, clearable=True) == []
    assert query_value({"d": ""}, "d", "a", options=opts, clearable=True) is None
    # key= on a control that cannot be empty: its default
    assert query_value({"y": ""}, "y", 2023, cast=int) == 2023


def test_country_link_escapes_markdown():
    from dashboards.components import country_link, md_escape

    assert country_link("KGZ") == "[Kyrgyzstan](/country/KGZ)"
    assert country_link("KGZ", {"year": 2023}, with_code=True) == \
        "[Kyrgyzstan (KGZ)](/country/KGZ?year=2023)"
    assert md_escape("a_[b]*") == r"a\_\[b\]\*"
