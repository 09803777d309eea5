"""The deployed UI in a real browser: Debian's headless Chromium, driven by selenium through chromium-driver.

After the hello_rebuild fixture's successful run of the example DAG, a person who logs in (simple auth manager,
the password dev/deploy/up generated) sees on the build task's page an "Image" button that opens the digest the
build pushed, and on the run's page the report's note. Every wait is an explicit one, bounded; screenshots of
both pages are kept in the test's temporary directory (their paths are printed).
"""

import json
import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.deployment.conftest import EXAMPLE

CLEANUP = re.compile(r"; registry cleanup: \d+ tag\(s\) deleted(, \d+ warning\(s\))?$")  # docs/maintenance.md, "Registry hygiene"

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 60  # seconds, for each page element: a cold UI bundle on a loaded machine


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """KANIKO_UI_SCREENSHOTS, to keep them past pytest's cleanup of old temporary directories; else a temporary one."""
    if kept := os.environ.get("KANIKO_UI_SCREENSHOTS"):
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("ui-screenshots")


@pytest.fixture(scope="module")
def browser(shots):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: it is in pyproject.toml's test group (make venv installs it)")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            pytest.fail(f"{path} is missing: dev/localkube/packages.sh chromium chromium-driver (make test-deployment runs it)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # --no-sandbox: the tier runs as root, where Chromium's sandbox refuses to start; it only opens loopback pages.
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1100"):
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={shots / 'profile'}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


class Page:
    """Waits on what a person would look for, and on a timeout keeps the screenshot and the page's HTML."""

    def __init__(self, driver, shots: Path):
        self.driver, self.shots = driver, shots

    def wait(self, condition, what: str, name: str):
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, WAIT).until(condition)
        except TimeoutException:
            shot = self.shot(f"{name}-timeout")
            (self.shots / f"{name}-timeout.html").write_text(self.driver.page_source)
            raise AssertionError(f"{what}: not seen within {WAIT}s at {self.driver.current_url}; see {shot}") from None

    def element(self, xpath: str, what: str, name: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.visibility_of_element_located((By.XPATH, xpath)), what, name)

    def clickable(self, xpath: str, what: str, name: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.element_to_be_clickable((By.XPATH, xpath)), what, name)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")
        return path


@pytest.fixture(scope="module")
def ui(browser, shots):
    """The browser, logged in through the UI's login form as admin."""
    from selenium.webdriver.common.keys import Keys

    url = os.environ["AIRFLOW_DEPLOY_URL"]
    password = json.loads(Path(os.environ["AIRFLOW_DEPLOY_PASSWORDS"]).read_text())["admin"]
    page = Page(browser, shots)
    browser.get(f"{url}/auth/login")
    page.element("//input[@name='username']", "the login form", "login").send_keys("admin")
    page.element("//input[@name='password']", "the login form's password", "login").send_keys(password + Keys.ENTER)
    page.wait(lambda d: "/auth/login" not in d.current_url, "leaving the login page (logged in)", "login")
    return page


def test_the_build_tasks_page_links_the_image_to_the_pushed_digest(api, cluster, hello_rebuild, ui):
    run_id = hello_rebuild.run_id
    (build,) = [ti for ti in api.task_instances(EXAMPLE, run_id) if ti["task_id"] == "build_level_0"]
    digest = api.xcom(EXAMPLE, run_id, "build_level_0", build["map_index"])["digest"]
    # dev/deploy/up's connection template: the registry's own URL of the manifest the build pushed.
    expected = f"https://{cluster.registry}/v2/demo/hello/manifests/{digest}"

    url = os.environ["AIRFLOW_DEPLOY_URL"]
    ui.driver.get(f"{url}/dags/{EXAMPLE}/runs/{quote(run_id, safe='')}/tasks/build_level_0/mapped/{build['map_index']}")
    # The task's extra links are on its Details tab, under "Extra Links", one button each.
    ui.clickable("//a[normalize-space(.)='Details']", "the task's Details tab", "build-task").click()
    link = ui.element("//a[normalize-space(.)='Image']", "the task's Image link", "build-task")
    ui.shot("build-task")
    assert link.get_attribute("href") == expected
    assert link.is_displayed() and link.is_enabled()


def test_the_runs_page_shows_the_report_note(api, hello_rebuild, ui):
    run_id = hello_rebuild.run_id
    note = api.run(EXAMPLE, run_id)["note"]
    report = api.xcom(EXAMPLE, run_id, "report")
    (row,) = report["images"]
    first, *_, hello_row = note.splitlines()
    # The header may end with what the registry cleanup deleted; the pages show it as the note says it.
    cleanup = first[len(CLEANUP.sub("", first)) :]
    assert first == f"**{EXAMPLE}**: 1 {row['status']}{cleanup}" and hello_row.startswith(f"| hello | {row['status']} | ")

    url = os.environ["AIRFLOW_DEPLOY_URL"]
    ui.driver.get(f"{url}/dags/{EXAMPLE}/runs/{quote(run_id, safe='')}")
    # The run's header shows the note's first line, its Markdown rendered (the DAG in bold), cut with "…".
    bold = ui.element(f"//strong[normalize-space(.)='{EXAMPLE}']", "the note's first line in the run's header", "run")
    ui.shot("run")
    assert bold.find_element("xpath", "..").text == f"{EXAMPLE}: 1 {row['status']}{cleanup} …"
    # The whole note, as a person opens it: the note button opens the "Dag Run Note" dialog, Markdown rendered.
    ui.clickable("//button[@aria-label='Edit note']", "the run's note button", "run").click()
    dialog = "//*[@role='dialog'][.//h2[normalize-space(.)='Dag Run Note']]"
    table = ui.element(f"{dialog}//table", "the note's table in its dialog", "run-note")
    box = ui.element(dialog, "the note dialog", "run-note")
    # The dialog fades in: the screenshot is taken once it is opaque, as a person sees it.
    ui.wait(
        lambda d: d.execute_script("return getComputedStyle(arguments[0]).opacity", box) == "1", "the dialog shown", "run-note"
    )
    ui.shot("run-note")
    bold = ui.element(f"{dialog}//strong[normalize-space(.)='{EXAMPLE}']", "the note's first line in its dialog", "run-note")
    assert bold.find_element("xpath", "..").text == f"{EXAMPLE}: 1 {row['status']}{cleanup}"
    assert [th.text.strip() for th in table.find_elements("xpath", ".//th")] == ["image", "status", "digest", "reason"]
    rows = [[td.text.strip() for td in tr.find_elements("xpath", "./td")] for tr in table.find_elements("xpath", ".//tbody/tr")]
    assert rows == [["hello", row["status"], row["digest"][:19], row["reason"]]]
