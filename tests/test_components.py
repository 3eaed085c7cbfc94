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
