"""Shared test configuration.

* ``shared_data``: the real reference data in ``../shared/data``; tests using it skip with
  a reason when it is absent, except under ``CI=true`` where the absence is a failure.
* Browser tests (marker ``browser``) run Dash's ``dash_duo`` against the system Chromium
  (``/usr/bin/chromium`` + ``chromedriver``); without them they skip, except under CI.
* ``demo_world``: the default demo world, built once per session.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
ARTIFACTS = ROOT / "tests" / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

CHROMIUM = next((p for p in (os.environ.get("CHOKEPOINT_CHROMIUM"), "/usr/bin/chromium",
                             shutil.which("chromium"), shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)
CHROMEDRIVER = shutil.which("chromedriver")


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` unless the condition holds; under CI a miss is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}: the CI install step is broken", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    require(SHARED_DATA.is_dir(), f"real reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_world():
    from analytics.demo import make_demo_world

    return make_demo_world(seed=0)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, demo_world):
    from analytics import store

    path = tmp_path_factory.mktemp("demo-store") / "store"
    store.write_dataset(demo_world.dataset, path)
    try:
        from analytics.precompute import precompute_store
    except ImportError:
        pass
    else:
        precompute_store(path)
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_setup_options():
    """Selenium options for dash_duo: the system Chromium, headless, no network chatter."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    if CHROMIUM:
        options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-extensions",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    return options


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "dash_duo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _browser_available(request):
    if request.node.get_closest_marker("browser"):
        require(CHROMIUM is not None and CHROMEDRIVER is not None,
                "no Chromium/chromedriver on this machine (install Debian's chromium and "
                "chromium-driver)")
