#!/usr/bin/env python3
"""A real browser for the end-to-end suite: Debian's chromium, headless,
driven through Debian's chromedriver with Selenium (tests/e2e/tools installs
all three). Each subcommand walks one flow in ONE browser (cookies live as
long as the process) and prints one JSON line per check:

    {"check": "...", "ok": true|false, "detail": "..."}

which the calling scenario records with e2e_pass / e2e_fail (lib.sh:
e2e_record_checks). Screenshots (PNG) go to --shots.

Subcommands:
  keycloak-account  Keycloak's account console: redirected to the login form,
                    log in, the console shows the user. Proves the harness
                    (browser, driver, realm user) without kingress.
  login             A page protected by kingress's openid-connect plugin
                    (authorization_code + session): see the module docstring
                    of login_flow below for the steps.

Every request the browser makes is read back from Chrome's performance log,
so a check can say "no request went to Keycloak" rather than guess from the
final URL.
"""
import argparse
import json
import os
import sys
import tempfile
import time
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WAIT_S = 30


class Checks:
    """Prints each check as one JSON line, flushed at once, so a scenario
    killed half-way still has the checks it reached."""

    def __init__(self, label=""):
        self.failed = 0
        self.prefix = f"[{label}] " if label else ""

    def record(self, check, ok, detail=""):
        if not ok:
            self.failed += 1
        print(json.dumps({"check": self.prefix + check, "ok": bool(ok), "detail": str(detail)[:400]}), flush=True)
        return ok

    def eq(self, check, want, got):
        return self.record(check, want == got, got if want == got else f"expected {want!r}, got {got!r}")


def start_browser(tmp):
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
    for arg in (
        "--headless=new",
        # The suite runs as root, where Chrome's sandbox cannot start.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--no-first-run",
        "--disable-extensions",
        "--password-store=basic",
        f"--user-data-dir={tmp}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = Service(executable_path=os.environ.get("E2E_CHROMEDRIVER", "/usr/bin/chromedriver"),
                      log_output=os.path.join(tmp, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(WAIT_S)
    return driver


def requests_made(driver):
    """URLs the browser requested since the last call (top-level and
    sub-resources, every hop of a redirect chain), in order."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def origin(url):
    u = urllib.parse.urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def wait_for(driver, what, predicate):
    """Waits for predicate(driver); returns its value, or None on timeout."""
    try:
        # Pages change under the predicate while redirects run.
        return WebDriverWait(driver, WAIT_S, poll_frequency=0.2,
                             ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
                             ).until(predicate)
    except TimeoutException:
        print(f"browser: timed out waiting for {what} at {driver.current_url}", file=sys.stderr)
        return None


def login_form(driver):
    """The Keycloak login form's username field, if this page has one."""
    found = driver.find_elements(By.ID, "username")
    return found[0] if found and driver.find_elements(By.ID, "kc-login") else None


def submit_login(driver, user, password):
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "kc-login").click()


def echo_document(driver):
    """The echo backend's JSON as the browser shows it (Chrome puts a JSON
    document in a <pre>), or None when the page is something else."""
    for pre in driver.find_elements(By.TAG_NAME, "pre"):
        try:
            return json.loads(pre.text)
        except ValueError:
            continue
    return None


def shot(driver, shots, name, label=""):
    if label:
        name = f"{label}-{name}"
    if shots:
        os.makedirs(shots, exist_ok=True)
        path = os.path.join(shots, name)
        driver.save_screenshot(path)
        print(f"browser: screenshot {path}", file=sys.stderr)


def keycloak_account(args, checks, driver):
    issuer = args.issuer.rstrip("/")
    driver.get(f"{issuer}/account")
    form = wait_for(driver, "the login form", login_form)
    checks.record("account console sends the browser to Keycloak's login form", form is not None,
                  driver.current_url.split("?")[0])
    if form is None:
        shot(driver, args.shots, "keycloak-account-failed.png")
        return
    shot(driver, args.shots, "keycloak-account-1-login-form.png")
    submit_login(driver, args.user, args.password)
    # The console is a single-page app: wait until it renders the user's
    # name and has loaded the profile form (the username field's value).
    shown = wait_for(driver, "the account console",
                     lambda d: args.expect_text in d.find_element(By.TAG_NAME, "body").text
                     and d.execute_script(
                         "return [...document.querySelectorAll('input')].some(i => i.value === arguments[0])",
                         args.user))
    shot(driver, args.shots, "keycloak-account-2-signed-in.png")
    checks.record(f"after logging in the account console shows '{args.expect_text}' and the username",
                  bool(shown), driver.current_url.split("?")[0])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shots", help="folder for PNG screenshots")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("keycloak-account")
    a.add_argument("--issuer", required=True)
    a.add_argument("--user", required=True)
    a.add_argument("--password-env", default="E2E_USER_PASSWORD",
                   help="environment variable holding the password (kept off the command line)")
    a.add_argument("--expect-text", required=True)
    login_flow_args(sub.add_parser("login"))
    args = p.parse_args()
    args.password = os.environ[args.password_env]

    checks = Checks(getattr(args, "label", ""))
    with tempfile.TemporaryDirectory(prefix="e2e-chromium-") as tmp:
        try:
            driver = start_browser(tmp)
        except WebDriverException as e:
            checks.record("chromium starts under chromedriver", False, e.msg)
            return 1
        try:
            if args.cmd == "keycloak-account":
                keycloak_account(args, checks, driver)
            else:
                login_flow(args, checks, driver)
        except WebDriverException as e:
            checks.record(f"{args.cmd}: browser flow ran to its end", False, f"{e.msg} at {driver.current_url}")
            shot(driver, args.shots, f"{args.cmd}-failed.png")
        finally:
            driver.quit()
    return 1 if checks.failed else 0


def login_flow_args(p):
    p.add_argument("--user", required=True)
    p.add_argument("--password-env", default="E2E_USER_PASSWORD")
    p.add_argument("--page", required=True, help="protected page on replica 1")
    p.add_argument("--page2", help="the same route on replica 2 (shared sessions)")
    p.add_argument("--logout", help="URL that logs out (logout_uri_suffix on the page)")
    p.add_argument("--keycloak", required=True, help="Keycloak's issuer URL")
    p.add_argument("--expect-header", action="append", default=[],
                   help="NAME=VALUE the upstream must see after login (lower-case name)")
    p.add_argument("--label", default="", help="prefixes check names and screenshot files")


def login_flow(args, checks, driver):
    """The authorization_code round trip with a session:
    1. the page sends an unauthenticated browser to Keycloak's login form
       (the authorize request carries state, nonce and PKCE S256);
    2. typing the password lands back on the page, and the upstream (echo)
       sees the --expect-header values;
    3. a second visit uses the session: no request reaches Keycloak;
    4. (--page2) the other replica knows the session too, again without Keycloak;
    5. (--logout) logging out passes through Keycloak's end_session endpoint;
       the next visit shows the login form again, on both replicas.
    """
    kc = origin(args.keycloak)
    driver.get(args.page)
    form = wait_for(driver, "the login form", login_form)
    sent = requests_made(driver)
    checks.record("an unauthenticated visit lands on Keycloak's login form", form is not None,
                  driver.current_url.split("?")[0])
    authorize = next((u for u in sent if u.startswith(args.keycloak) and "/protocol/openid-connect/auth" in u), "")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)
    checks.record("the authorize request carries state, nonce and PKCE S256",
                  all(q.get(k) for k in ("state", "nonce", "code_challenge"))
                  and q.get("code_challenge_method") == ["S256"],
                  ",".join(sorted(q)) if q else "no authorize request seen")
    shot(driver, args.shots, "login-1-keycloak-form.png", args.label)
    if form is None:
        return
    submit_login(driver, args.user, args.password)
    page_origin = origin(args.page)
    back = wait_for(driver, "the protected page", lambda d: d.current_url.startswith(page_origin) and echo_document(d))
    shot(driver, args.shots, "login-2-back-on-the-page.png", args.label)
    checks.record("after typing the password the browser is back on the page", bool(back),
                  driver.current_url.split("?")[0])
    if not back:
        return
    expect_headers(checks, "after login", back, args.expect_header)
    requests_made(driver)

    visit_with_session(checks, driver, "second visit", args.page, kc, args.expect_header)
    if args.page2:
        visit_with_session(checks, driver, "the other replica", args.page2, kc, args.expect_header)
    if not args.logout:
        return
    driver.get(args.logout)
    sent = requests_made(driver)
    end_session = [u for u in sent if u.startswith(args.keycloak) and "/protocol/openid-connect/logout" in u]
    checks.record("logout passes through Keycloak's end_session endpoint with id_token_hint",
                  any("id_token_hint=" in u for u in end_session),
                  f"{len(end_session)} end_session request(s); ended at {driver.current_url.split('?')[0]}")
    shot(driver, args.shots, "login-3-after-logout.png", args.label)
    for label, page in (("the page", args.page), ("the other replica", args.page2)):
        if not page:
            continue
        driver.get(page)
        form = wait_for(driver, "the login form", login_form)
        checks.record(f"after logout {label} shows Keycloak's login form again", form is not None,
                      driver.current_url.split("?")[0])
        requests_made(driver)
    shot(driver, args.shots, "login-4-login-form-again.png", args.label)


def visit_with_session(checks, driver, label, page, kc, expected):
    requests_made(driver)
    t0 = time.monotonic()
    driver.get(page)
    doc = wait_for(driver, "the protected page", echo_document)
    ms = int((time.monotonic() - t0) * 1000)
    sent = requests_made(driver)
    to_kc = [u.split("?")[0] for u in sent if u.startswith(kc)]
    checks.record(f"{label}: the page loads from the session, no request to Keycloak",
                  doc is not None and not to_kc and driver.current_url.startswith(page),
                  f"{ms} ms; Keycloak requests: {to_kc}" if to_kc else f"{ms} ms, {len(sent)} request(s)")
    if doc is not None:
        expect_headers(checks, label, doc, expected)


def expect_headers(checks, label, doc, expected):
    headers = doc.get("headers", {})
    for spec in expected:
        name, _, value = spec.partition("=")
        checks.eq(f"{label}: the upstream sees {name}", value, headers.get(name))


if __name__ == "__main__":
    sys.exit(main())
