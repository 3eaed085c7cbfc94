"""Briefing packs: the PDF (pages, extractable text, fonts), the chart files, the findings,
English and Japanese, and the ``chokepoint brief`` command.

Static export needs Chromium (kaleido) and the PDF checks poppler-utils; without them the
tests skip with the reason, except under ``CI=true`` where that is a failure. The packs are
also written to ``tests/artifacts/brief-en`` and ``brief-ja`` for a look by eye.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import CHROMIUM, require

from analytics.brief import CHARTS, make_brief, wrap_text
from analytics.briefing import HEIGHT, WIDTH
from analytics.errors import UnknownCategory, UnknownCountry

CATEGORY, DESTINATION, YEAR = "chpl_tier1", "RUS", 2024
DATE = "2026-01-15"


def _need_tools() -> None:
    require(CHROMIUM is not None, "no Chromium for kaleido's static export (install "
                                  "Debian's chromium)")
    for tool in ("pdfinfo", "pdftotext", "pdffonts"):
        require(shutil.which(tool) is not None, f"no {tool} (install poppler-utils)")


def _cjk_font_installed() -> bool:
    if not shutil.which("fc-match"):
        return False
    out = subprocess.run(["fc-match", "Noto Sans CJK JP"], capture_output=True, text=True)
    return "CJK" in out.stdout


def _pack(tmp_path_factory, artifacts_dir: Path, demo_world, lang: str):
    _need_tools()
    if lang == "ja":
        require(_cjk_font_installed(), "no CJK font (install fonts-noto-cjk)")
    out = tmp_path_factory.mktemp(f"brief-{lang}")
    res = make_brief(demo_world.dataset, category=CATEGORY, destination=DESTINATION,
                     year=YEAR, lang=lang, out=out, date=DATE)
    keep = artifacts_dir / f"brief-{lang}"
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(out, keep)
    return res


@pytest.fixture(scope="module")
def pack_en(tmp_path_factory, artifacts_dir, demo_world):
    return _pack(tmp_path_factory, artifacts_dir, demo_world, "en")


@pytest.fixture(scope="module")
def pack_ja(tmp_path_factory, artifacts_dir, demo_world):
    return _pack(tmp_path_factory, artifacts_dir, demo_world, "ja")


def _text(pdf: Path) -> str:
    raw = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    # NFKC: CJK fonts map some glyphs to compatibility code points (Kangxi radicals)
    return unicodedata.normalize("NFKC", raw)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def _fonts(pdf: Path) -> list[dict]:
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]
    rows = []
    for line in out:
        m = re.match(r"^(\S+)\s+(Type 3|Type 1C?|CID Type 0C?|CID TrueType|TrueType(?: \(CID\))?|"
                     r"Type 1C \(OT\)|CID Type 0C \(OT\))\s+(\S+)\s+(yes|no)\s+(yes|no)\s+"
                     r"(yes|no)", line)
        if m:
            rows.append({"name": m.group(1), "type": m.group(2), "emb": m.group(4),
                         "uni": m.group(6)})
    return rows


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


# ------------------------------------------------------------------------ English
@pytest.mark.slow
def test_pdf_has_title_findings_and_one_page_per_chart(pack_en):
    assert pack_en.pdf.name == "brief.pdf"
    assert _pages(pack_en.pdf) == pack_en.pages == 2 + len(pack_en.charts)
    # the required charts are all there for a sanctioned destination
    assert set(CHARTS[:5]) <= set(pack_en.charts), pack_en.skipped


@pytest.mark.slow
def test_pdf_text_is_extractable(pack_en):
    text = _text(pack_en.pdf)
    flat = " ".join(text.split())
    assert " ".join(pack_en.title.split()) in flat
    assert "CHPL Tier 1: integrated circuits" in flat and "Russia" in flat
    assert "synthetic demo data" in flat.lower()
    assert "Key findings" in flat and "Figure 1." in flat and DATE in flat
    risk = pack_en.findings.set_index("key").loc["risk", "number"]
    assert f"{risk:.0f}/100" in flat  # numbers on the pages come from the analysis
    assert "Source:" in flat and "analytics.demo" in flat  # provenance on every page


@pytest.mark.slow
def test_chart_files_in_the_template_size(pack_en):
    for stem, (png, svg) in pack_en.charts.items():
        assert png.name == f"{stem}.png" and svg.name == f"{stem}.svg"
        assert _png_size(png) == (2 * WIDTH, 2 * HEIGHT)  # exported at scale 2
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")
        assert float(root.get("width")) == WIDTH and float(root.get("height")) == HEIGHT
        assert "synthetic demo data" in svg.read_text(encoding="utf-8").lower()


@pytest.mark.slow
def test_english_pdf_embeds_only_truetype_fonts(pack_en):
    fonts = _fonts(pack_en.pdf)
    assert fonts and all(f["emb"] == "yes" for f in fonts)
    assert not [f for f in fonts if f["type"] == "Type 3"]


@pytest.mark.slow
def test_findings_match_the_analysis(pack_en, demo_world):
    from analytics.risk import score_risk

    f = pack_en.findings.set_index("key")
    assert {"risk", "coalition_share", "diversion_exposure", "surge", "top_hubs",
            "top_origin", "min_cut", "did", "data"} <= set(f.index)
    assert not f["value"].str.contains("not available").any(), f["value"]
    scored = score_risk(demo_world.dataset, year=YEAR, categories=[CATEGORY])
    row = scored[scored["destination"] == DESTINATION].iloc[0]
    assert f.loc["risk", "number"] == pytest.approx(row["risk"])
    assert f.loc["coalition_share", "number"] == pytest.approx(row["coalition_share"])
    assert (pack_en.out / "findings.csv").exists()


# ------------------------------------------------------------------------ Japanese
@pytest.mark.slow
def test_japanese_pack_text(pack_ja, demo_world):
    from analytics.i18n import category_name

    flat = _flat(_text(pack_ja.pdf))
    assert _flat(category_name(CATEGORY, demo_world.dataset.categories, "ja")) in flat
    for word in ("ロシア", "合成デモデータ", "主な分析結果", "図1", "出典"):
        assert _flat(word) in flat, word
    # Latin text (numbers) stays extractable next to the CJK glyphs
    risk = pack_ja.findings.set_index("key").loc["risk", "number"]
    assert f"{risk:.0f}/100" in flat
    assert _pages(pack_ja.pdf) == pack_ja.pages


@pytest.mark.slow
def test_japanese_pack_embeds_a_cjk_font(pack_ja):
    # Chromium embeds the CFF-based Noto Sans CJK as Type 3 glyph fonts (no name); the
    # English pack has none, so these carry the Japanese glyphs
    fonts = _fonts(pack_ja.pdf)
    cjk = [f for f in fonts if f["type"] == "Type 3" or "CJK" in f["name"]]
    assert cjk and all(f["emb"] == "yes" and f["uni"] == "yes" for f in cjk)
    for png, _svg in pack_ja.charts.values():
        assert _png_size(png) == (2 * WIDTH, 2 * HEIGHT)


# ------------------------------------------------------------------------ errors, CLI
def test_unknown_category_names_the_valid_ones(demo_world, tmp_path):
    with pytest.raises(UnknownCategory) as err:
        make_brief(demo_world.dataset, category="chips", destination="RUS", out=tmp_path)
    assert "'chips'" in str(err.value) and "chpl_tier1" in str(err.value)
    assert not any(tmp_path.iterdir())


def test_unknown_destination_names_the_valid_ones(demo_world, tmp_path):
    with pytest.raises(UnknownCountry) as err:
        make_brief(demo_world.dataset, category=CATEGORY, destination="XYZ", out=tmp_path)
    assert "'XYZ'" in str(err.value) and "RUS" in str(err.value)


def test_wrap_text_keeps_width_and_words():
    lines = wrap_text("Russia imported USD 15.3 bn of this category in 2024", 20)
    assert all(len(ln) <= 20 for ln in lines)
    assert " ".join(lines) == "Russia imported USD 15.3 bn of this category in 2024"
    ja = wrap_text("主な経由地：中国、香港、アラブ首長国連邦", 12)
    assert "".join(ja) == "主な経由地：中国、香港、アラブ首長国連邦"
    assert not any(ln.startswith("、") for ln in ja)


@pytest.mark.slow
def test_cli_brief_for_a_coalition_member(demo_store, tmp_path, capsys):
    """``chokepoint brief`` on a store; for a coalition member the leak-route chart is
    left out with the reason, and the rest of the pack is still written."""
    _need_tools()
    from analytics.cli import main

    out = tmp_path / "pack"
    rc = main(["brief", "--store", str(demo_store), "--category", "bearings",
               "--destination", "deu", "--coalition", "group_a", "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.out.strip().endswith("brief.pdf")
    assert "06_leak_routes" in captured.err and "coalition member" in captured.err
    assert (out / "brief.pdf").exists() and (out / "01_risk_components.png").exists()
    assert not (out / "06_leak_routes.png").exists()
    assert "Germany" in _text(out / "brief.pdf")


def test_cli_brief_unknown_category_is_a_message(demo_store, tmp_path, capsys):
    from analytics.cli import main

    rc = main(["brief", "--store", str(demo_store), "--category", "nope", "--destination",
               "RUS", "--out", str(tmp_path / "x")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "unknown category 'nope'" in err and "chpl_tier1" in err
