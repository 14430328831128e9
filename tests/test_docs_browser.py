"""The docs in a real browser: headless Chromium over every page, served live and opened from disk.

For each API page: every operation of its spec is on screen, the console shows no error, and
no request left the machine (Chromium's network log: every URL is 127.0.0.1, localhost,
file, data or blob). A full-page screenshot of each page is kept in ``reports/screenshots/``.
One browser for the module. Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them); without them these tests skip and say so.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sandbox.__main__ import main
from sandbox.apis import discover
from sandbox.docs.annotate import derived_rules

from .conftest import ROOT, LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "reports" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
# FIELD-NOTES flags: no first-run, sync, component or background fetches of Chromium's own.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1024"]

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip("Chromium is not installed (Debian packages chromium and chromium-driver; .ci/run installs "
                "them): the docs were NOT checked in a browser", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

APIS = {api.name: api for api in discover()}
PAGES = [(mode, name) for mode in ("served", "static") for name in sorted(APIS)]


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="docs-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def served():
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def static_site(tmp_path_factory, served) -> Path:
    """The static build, its "Try it" aimed at the live sandbox."""
    out = tmp_path_factory.mktemp("docs-site")
    assert main(["docs", "build", "--out", str(out), "--sandbox-url", served.url]) == 0
    return out


def _url(mode: str, page: str, served: LiveServer, static_site: Path) -> str:
    return f"{served.url}/docs/{page}" if mode == "served" else (static_site / page).as_uri()


def _open(browser, url: str) -> None:
    """Load ``url`` with the logs emptied first, so what they hold afterwards is this page's."""
    browser.get("about:blank")
    browser.get_log("browser")
    browser.get_log("performance")
    browser.get(url)


def _requests(browser) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _left_the_machine(urls: list[str]) -> list[str]:
    return [u for u in urls if not (urlsplit(u).scheme in LOCAL_SCHEMES or urlsplit(u).hostname in LOCAL_HOSTS)]


def _console_errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _screenshot(browser, name: str) -> None:
    """The whole page (not only the window), for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 16000), "scale": 1}
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                              "clip": clip})
    (SCREENSHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


SHOWN_OPERATIONS = """
return Array.from(document.querySelectorAll('.opblock'))
  .filter(e => e.offsetParent !== null && e.querySelector('.opblock-summary-path'))
  .map(e => e.id.split('-').pop());
"""


SHOWN_PARAMETERS = """
return Array.from(document.querySelectorAll('.opblock tr[data-param-name]'))
  .map(r => r.closest('.opblock').id.split('-').pop() + ' ' + r.dataset.paramIn + ' ' + r.dataset.paramName);
"""
SHOWN_SCHEMAS = """
return Array.from(document.querySelectorAll('.models article[data-json-schema-level="0"]'))
  .filter(e => e.offsetParent !== null)
  .map(e => e.querySelector('.json-schema-2020-12__title').textContent.trim());
"""


def _expand_every_operation(browser) -> None:
    browser.execute_script("document.querySelectorAll('.opblock:not(.is-open) .opblock-summary-control')"
                           ".forEach(b => b.click());")


@pytest.mark.parametrize(("mode", "name"), PAGES, ids=[f"{m}-{n}" for m, n in PAGES])
def test_api_page_shows_every_operation_offline(browser, served, static_site, mode: str, name: str) -> None:
    _open(browser, _url(mode, f"{name}.html", served, static_site))
    expected = set(APIS[name].spec.operations)
    try:
        WebDriverWait(browser, 60, poll_frequency=0.2).until(
            lambda d: expected <= set(d.execute_script(SHOWN_OPERATIONS)))
    finally:
        _screenshot(browser, f"{mode}-{name}")
    shown = set(browser.execute_script(SHOWN_OPERATIONS))
    assert shown == expected
    _expand_every_operation(browser)
    expected_parameters = {f"{op.operation_id} {p.location} {p.name}"
                           for op in APIS[name].spec.operations.values() for p in op.parameters}
    WebDriverWait(browser, 30, poll_frequency=0.2).until(
        lambda d: expected_parameters <= set(d.execute_script(SHOWN_PARAMETERS)))
    schemas = set(APIS[name].spec.raw.get("components", {}).get("schemas", {}))
    assert set(browser.execute_script(SHOWN_SCHEMAS)) == schemas
    if derived_rules(APIS[name].spec.raw):
        assert "Sandbox decision" in browser.find_element("css selector", ".information-container").text
    assert _console_errors(browser) == []
    requests = _requests(browser)
    assert any(u.endswith("swagger-ui-bundle.js") for u in requests), requests
    assert _left_the_machine(requests) == []


@pytest.mark.parametrize("mode", ["served", "static"])
def test_index_links_every_api_offline(browser, served, static_site, mode: str) -> None:
    _open(browser, _url(mode, "index.html", served, static_site))
    links = {a.get_attribute("href").rsplit("/", 1)[-1] for a in browser.find_elements("css selector", "#apis a")}
    assert links == {f"{n}.{ext}" for n in APIS for ext in ("html", "yaml", "json")}
    _screenshot(browser, f"{mode}-index")
    assert _console_errors(browser) == []
    assert _left_the_machine(_requests(browser)) == []


def _click(browser, selector: str) -> None:
    """A click as a person makes it, without waiting for Swagger UI's expand animation to settle."""
    browser.execute_script("arguments[0].click()", browser.find_element("css selector", selector))


@pytest.mark.parametrize("mode", ["served", "static"])
def test_try_it_calls_the_sandbox_with_the_default_token(browser, served, static_site, mode: str) -> None:
    """Swagger UI's own Try it / Execute on GET /_sandbox/workspace answers 200: credentials were filled in.

    From disk too: the page's origin is ``null`` there, so this also checks the sandbox's CORS answers.
    """
    _open(browser, _url(mode, "sandbox.html", served, static_site) + "#/Workspaces/getWorkspace")
    wait = WebDriverWait(browser, 60, poll_frequency=0.2)
    wait.until(lambda d: d.find_elements("css selector", "#operations-Workspaces-getWorkspace .try-out__btn"))
    _click(browser, "#operations-Workspaces-getWorkspace .try-out__btn")
    wait.until(lambda d: d.find_elements("css selector", "#operations-Workspaces-getWorkspace .execute"))
    _click(browser, "#operations-Workspaces-getWorkspace .execute")
    status = wait.until(lambda d: d.find_elements(
        "css selector", "#operations-Workspaces-getWorkspace .live-responses-table tbody .response-col_status"))
    assert status[0].text.strip() == "200"
    body = browser.find_element("css selector", "#operations-Workspaces-getWorkspace .live-responses-table "
                                                ".microlight").text
    assert json.loads(body)["name"] == "default"
    assert _console_errors(browser) == []
    assert _left_the_machine(_requests(browser)) == []


@pytest.mark.parametrize("mode", ["served", "static"])
def test_authorize_gets_an_oauth2_token_with_the_default_client(browser, served, static_site, mode: str) -> None:
    """The Authorize dialog holds the default OAuth2 client; its Authorize gets a token from the sandbox."""
    _open(browser, _url(mode, "payments.html", served, static_site))
    wait = WebDriverWait(browser, 60, poll_frequency=0.2)
    wait.until(lambda d: d.find_elements("css selector", ".btn.authorize"))
    _click(browser, ".btn.authorize")
    oauth = "//div[contains(@class, 'auth-container')][.//h4[starts-with(normalize-space(), 'oauth2')]]"
    wait.until(lambda d: d.find_elements("xpath", oauth))
    browser.execute_script("arguments[0].click()", browser.find_element("xpath", f"{oauth}//button[contains("
                                                                                 "@class, 'authorize')]"))
    authorized = wait.until(lambda d: d.execute_script(
        "return window.sandboxDocs.authSelectors.authorized().toJS().oauth2"))
    assert authorized["clientId"] == "sandbox"
    token = wait.until(lambda d: d.execute_script(
        "return (window.sandboxDocs.authSelectors.authorized().toJS().oauth2.token || {}).access_token"))
    request = urllib.request.Request(f"{served.url}/_sandbox/workspace", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["name"] == "default"
    assert _console_errors(browser) == []
    assert _left_the_machine(_requests(browser)) == []
