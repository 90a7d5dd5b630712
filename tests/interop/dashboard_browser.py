"""The dashboard (#17) in headless Chromium (Selenium + Debian's chromium-driver).

Run by dashboard_browser.sh, which starts lucentd and passes BASE, INVITE_PATH, OLD_TOKEN,
DNS_PORT and SHOTS. Walks invite link -> password -> hostnames (create; `dig` sees it; a note
with markup shown as text) -> regenerate the token (new one works on /update, old one 401) ->
scoped token (its hostname only) -> account -> sign out; then a wrong password, a form post
without its CSRF token (403, nothing changed), the cookie flags, the CSP header, the admin page
refused to a normal user and shown to an admin (inviting someone new, every zone), and no
horizontal scrolling at 390 px; on every page, every input has a label, every picture a text
alternative, the page a language and landmarks, and keyboard focus shows. Saves a screenshot of
every page at 1280 and 390 px wide. Prints PASS/FAIL lines; exits 1 on a failure.
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["BASE"]
INVITE_PATH = os.environ["INVITE_PATH"]
OLD_TOKEN = os.environ["OLD_TOKEN"]
DNS_PORT = os.environ["DNS_PORT"]
SHOTS = os.environ["SHOTS"]
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'")
NOTE = '<script>alert("x")</script><b>bold</b>'

failed = 0


def check(what, ok, detail=""):
    global failed
    if ok:
        print(f"PASS: {what}")
    else:
        failed += 1
        print(f"FAIL: {what} {detail}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def http(path, data=None, headers=None):
    """(status, headers, body) without following redirects."""
    req = urllib.request.Request(BASE + path, data=data, headers=headers or {})
    try:
        with OPENER.open(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def dig(name):
    out = subprocess.run(["dig", "+short", "+time=2", "+tries=1", "@127.0.0.1", "-p", DNS_PORT,
                          name, "A"], capture_output=True, text=True, timeout=10)
    return out.stdout.split()


def make_driver():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
              "--no-first-run", "--user-data-dir=" + tempfile.mkdtemp(prefix="lucent-chrome-")]:
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def width(d, w):
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": w, "height": 900 if w > 500 else 844, "deviceScaleFactor": 1,
        "mobile": w < 500})


A11Y_JS = """
const out = {unlabelled: [], pictures: [], landmarks: [], lang: document.documentElement.lang};
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden' || el.hidden) continue;
  const named = (el.labels && el.labels.length > 0 && el.labels[0].textContent.trim() !== '')
    || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  if (!named) out.unlabelled.push(el.name || el.id || el.outerHTML.slice(0, 80));
}
for (const svg of document.querySelectorAll('svg')) {
  const t = svg.querySelector('title');
  if (svg.getAttribute('role') !== 'img' || !svg.getAttribute('aria-label') || !t
      || t.textContent.trim() === '') out.pictures.push(svg.outerHTML.slice(0, 80));
}
for (const sel of ['header', 'nav', 'main']) {
  if (document.querySelectorAll(sel).length === 0) out.landmarks.push(sel);
}
return out;
"""

FOCUS_JS = """
const el = document.querySelector('main a[href], main button:not([hidden]), main input:not([type=hidden]):not([hidden])');
if (!el) return 'none to focus';
el.focus();
const st = getComputedStyle(el);
return (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2) ? 'ok'
  : (el.outerHTML.slice(0, 60) + ' outline ' + st.outlineStyle + ' ' + st.outlineWidth);
"""


def a11y(d, name):
    """Every input has a label, every picture a text alternative, the page a language and its
    landmarks, and keyboard focus is visible."""
    r = d.execute_script(A11Y_JS)
    check(f"{name}: every input has a label", not r["unlabelled"], str(r["unlabelled"]))
    check(f"{name}: every picture has role=img, aria-label and a title", not r["pictures"],
          str(r["pictures"]))
    check(f"{name}: header, nav and main landmarks", not r["landmarks"], str(r["landmarks"]))
    check(f"{name}: lang attribute", r["lang"] == "en", r["lang"])
    # :focus-visible is keyboard focus: Tab once (to the header's first link), then move the
    # focus into main by script, which keeps the keyboard's visible focus.
    ActionChains(d).send_keys(Keys.TAB).perform()
    first = d.execute_script("const s = getComputedStyle(document.activeElement);"
                             "return [document.activeElement.tagName, s.outlineStyle];")
    check(f"{name}: Tab focuses a link with a visible ring", first[1] != "none", str(first))
    f = d.execute_script(FOCUS_JS)
    check(f"{name}: focus is visible", f in ("ok", "none to focus"), f)


def shoot(d, name):
    """Screenshots at 1280 and 390 px, no horizontal scrolling at 390, and the a11y checks."""
    a11y(d, name)
    for w in (1280, 390):
        width(d, w)
        d.save_screenshot(os.path.join(SHOTS, f"{name}-{w}.png"))
        if w == 390:
            sw = d.execute_script("return document.documentElement.scrollWidth")
            iw = d.execute_script("return window.innerWidth")
            check(f"{name}: no horizontal scrolling at 390 px", sw <= iw, f"({sw} > {iw})")
    width(d, 1280)


def fill(d, field, value):
    el = d.find_element(By.NAME, field)
    el.clear()
    el.send_keys(value)


def replaced(old):
    """A wait condition: `old` (the previous page's root) has left the document. Chromium
    reports a node of a page being replaced either as stale or, while the new one loads, with
    a bare inspector error ("does not belong to the document"): both mean gone."""
    def gone(_):
        try:
            old.is_enabled()
            return False
        except WebDriverException:
            return True
    return gone


def click_and_wait(d, element):
    """Click, then wait for the next page to replace this one (a click does not wait)."""
    old = d.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(d, 10).until(replaced(old))


def submit(d, form_action):
    """Submit the form posting to `form_action`. Chromium sometimes reports the button's node
    as gone from the document when the click lands while layout settles; then the page has
    not changed, so the click is tried again (at most three times)."""
    sel = f'form[action="{form_action}"] button[type=submit]'
    for attempt in range(3):
        old = d.find_element(By.TAG_NAME, "html")
        try:
            d.find_element(By.CSS_SELECTOR, sel).click()
        except WebDriverException:
            if attempt == 2:
                raise
            time.sleep(0.2)
            continue
        WebDriverWait(d, 10).until(replaced(old))
        return


def main():
    d = make_driver()
    try:
        run(d)
    finally:
        d.quit()


def run(d):
    # Not signed in: the login page.
    d.get(BASE + "/")
    check("/ sends a signed-out browser to /login", d.current_url.endswith("/login"))
    shoot(d, "login")
    status, headers, _ = http("/login")
    check("the CSP header", headers.get("Content-Security-Policy") == CSP,
          headers.get("Content-Security-Policy"))
    check("nosniff", headers.get("X-Content-Type-Options") == "nosniff")

    # The invite link: choose a password, signed in.
    d.get(BASE + INVITE_PATH)
    shoot(d, "invite")
    fill(d, "password", "correct horse battery")
    click_and_wait(d, d.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    check("the invite signs in", d.current_url.rstrip("/") == BASE, d.current_url)
    cookie = next((c for c in d.get_cookies() if c["name"] == "lucent_session"), None)
    check("the session cookie is HttpOnly and SameSite=Lax",
          cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Lax",
          str(cookie))
    check("the session cookie is not Secure over plain HTTP",
          cookie is not None and not cookie.get("secure"))
    shoot(d, "hostnames-empty")

    # A form post without its CSRF token: 403, nothing changed.
    sc = f"lucent_session={cookie['value']}"
    body = urllib.parse.urlencode({"hostname": "evil", "zoneDomain": "dyn.test",
                                   "ipv4": "192.0.2.66"}).encode()
    status, _, _ = http("/hostnames", body, {"Cookie": sc})
    check("a form without its CSRF token gets 403", status == 403, str(status))
    check("... and changes nothing", dig("evil.dyn.test") == [])

    # Create a hostname; DNS answers it; the note is shown as text.
    fill(d, "hostname", "home")
    fill(d, "ipv4", "192.0.2.10")
    fill(d, "note", NOTE)
    submit(d, "/hostnames")
    check("created", "Hostname created." in d.page_source)
    check("dig sees the new hostname", dig("home.dyn.test") == ["192.0.2.10"],
          str(dig("home.dyn.test")))
    note = d.find_element(By.CSS_SELECTOR, "dd.note").text
    check("a note with markup is shown as text", note == NOTE, note)
    check("no element came from the note", not d.find_elements(By.CSS_SELECTOR, "dd.note b"))
    shoot(d, "hostnames")
    # Change the address twice more (/update from here, then the edit form): the page says
    # when and from where, and the picture counts the changes.
    status, _, body = http(f"/update?domains=home&token={OLD_TOKEN}&ip=192.0.2.9")
    check("an update with the first token", body == "OK", f"{status} {body}")
    d.get(BASE + "/")
    upd = d.find_element(By.XPATH, "//dt[text()='Updated']/following-sibling::dd[1]").text
    check("the hostnames page says from which address", upd.endswith(" from 127.0.0.1"), upd)
    pic = d.find_element(By.CSS_SELECTOR, "article.host svg").get_attribute("aria-label")
    check("the picture counts the address changes", ": 2 address changes" in pic, pic)
    click_and_wait(d, d.find_element(By.LINK_TEXT, "Edit"))
    fill(d, "ipv4", "192.0.2.10")
    submit(d, d.find_element(By.CSS_SELECTOR, "form.card").get_attribute("action")
           .replace(BASE, ""))
    click_and_wait(d, d.find_element(By.LINK_TEXT, "Edit"))
    pic = d.find_element(By.CSS_SELECTOR, "figure.chart svg").get_attribute("aria-label")
    check("the hostname's page shows its changes", ": 3 address changes" in pic, pic)
    shoot(d, "hostname-edit")
    d.get(BASE + "/")
    click_and_wait(d, d.find_element(By.PARTIAL_LINK_TEXT, "Set up a router"))
    check("the setup page names the hostname", "home.dyn.test" in d.page_source)
    shoot(d, "hostname-setup")
    d.get(BASE + "/docs")
    check("the API guide names this server", BASE + "/update" in d.page_source)
    shoot(d, "docs")

    # Regenerate the token: the new one works, the old one gets 401.
    d.get(BASE + "/token")
    shoot(d, "token")
    d.find_element(By.ID, "confirm").click()
    submit(d, "/token")
    new = d.find_element(By.ID, "token-value").text
    check("the new token is shown", len(new) == 40, new)
    check("the copy button shows with JavaScript",
          d.find_element(By.CSS_SELECTOR, "button[data-copy]").is_displayed())
    shoot(d, "token-new")
    status, _, body = http(f"/update?domains=home&token={new}&ip=192.0.2.11")
    check("the new token updates", (status, body) == (200, "OK"), f"{status} {body}")
    check("dig sees the update", dig("home.dyn.test") == ["192.0.2.11"])
    status, _, _ = http(f"/update?domains=home&token={OLD_TOKEN}&ip=192.0.2.12")
    check("the old token gets 401", status == 401, str(status))

    # A second hostname, then a scoped token for the first only.
    d.get(BASE + "/")
    fill(d, "hostname", "cam")
    fill(d, "ipv4", "192.0.2.20")
    submit(d, "/hostnames")
    d.get(BASE + "/tokens")
    fill(d, "label", "router")
    d.find_element(By.XPATH, "//label[text()='home.dyn.test']").click()
    submit(d, "/tokens")
    scoped = d.find_element(By.ID, "token-value").text
    shoot(d, "scoped-tokens")
    status, _, body = http(f"/update?domains=home&token={scoped}&ip=192.0.2.30")
    check("the scoped token updates its hostname", body == "OK", f"{status} {body}")
    status, _, body = http(f"/update?domains=cam&token={scoped}&ip=192.0.2.31")
    check("... and nothing else", body == "KO" and dig("cam.dyn.test") == ["192.0.2.20"],
          f"{status} {body}")

    # A hosted zone: add a record, DNS answers it.
    d.get(BASE + "/zones")
    shoot(d, "zones")
    click_and_wait(d, d.find_element(By.LINK_TEXT, "ann.example"))
    fill(d, "name", "www")
    fill(d, "content", "192.0.2.80")
    click_and_wait(d, d.find_element(By.XPATH, "//button[text()='Add record']"))
    check("a record added on the zone page is in DNS", dig("www.ann.example") == ["192.0.2.80"])
    shoot(d, "zone")

    d.get(BASE + "/apikeys")
    fill(d, "label", "backup script")
    submit(d, "/apikeys")
    check("a new API key is shown", len(d.find_element(By.ID, "token-value").text) == 40)
    d.get(BASE + "/apikeys")
    check("the key's label is listed",
          "backup script" in [h.text for h in d.find_elements(By.CSS_SELECTOR, "article h2")])
    shoot(d, "apikeys")

    # A DNS UPDATE key for the hosted zone: nsupdate signed with it changes the zone.
    d.get(BASE + "/tsig")
    fill(d, "name", "browser-key")
    d.find_element(By.CSS_SELECTOR, "select#zone option[value='ann.example']").click()
    submit(d, "/tsig")
    secret = d.find_element(By.ID, "token-value").text
    check("a new TSIG secret is shown (base64 of 32 octets)", len(secret) == 44, secret)
    shoot(d, "tsig-new")
    script = (f"server 127.0.0.1 {DNS_PORT}\nzone ann.example\n"
              "update add upd.ann.example 300 A 192.0.2.90\nsend\n")
    out = subprocess.run(["nsupdate", "-y", f"hmac-sha256:browser-key:{secret}"], input=script,
                         capture_output=True, text=True, timeout=20)
    check("nsupdate with the key changes the zone",
          out.returncode == 0 and dig("upd.ann.example") == ["192.0.2.90"], out.stderr)
    d.get(BASE + "/tsig")
    check("the key is listed with its zone",
          "the zone ann.example" in d.page_source and "browser-key" in d.page_source)
    submit(d, "/tsig/revoke")
    out = subprocess.run(["nsupdate", "-y", f"hmac-sha256:browser-key:{secret}"],
                         input=script.replace("192.0.2.90", "192.0.2.91"),
                         capture_output=True, text=True, timeout=20)
    check("a revoked key is refused at once",
          out.returncode != 0 and dig("upd.ann.example") == ["192.0.2.90"], out.stderr)

    # Account, the admin page refused to a normal user, sign out.
    d.get(BASE + "/account")
    check("the account page lists this session", "(this session)" in d.page_source)
    shoot(d, "account")
    status, _, _ = http("/admin", None, {"Cookie": sc})
    check("the admin page is refused to a normal user", status == 403, str(status))
    d.get(BASE + "/admin")
    shoot(d, "admin-refused")
    d.get(BASE + "/")
    click_and_wait(d, d.find_element(By.CSS_SELECTOR, 'form[action="/logout"] button'))
    check("signed out", d.current_url.endswith("/login"), d.current_url)
    d.get(BASE + "/")
    check("signed out stays out", d.current_url.endswith("/login"))

    # A wrong password is refused; the admin signs in and sees the users.
    fill(d, "email", "ann@example.org")
    fill(d, "password", "wrong horse battery")
    submit(d, "/login")
    check("a wrong password is refused", "Wrong email, password or two-factor code." in d.page_source)
    shoot(d, "login-refused")
    fill(d, "email", "root@example.org")
    fill(d, "password", "an admin's password")
    submit(d, "/login")
    d.get(BASE + "/admin")
    check("the admin page opens for an admin", "ann@example.org" in d.page_source)
    fill(d, "email", "new@example.org")
    submit(d, "/admin/users")
    link = d.find_element(By.ID, "invite-link").text
    check("an admin invites someone new from the page", "/invite/" in link, link)
    shoot(d, "admin")
    d.get(BASE + "/admin/zones")
    check("the zones page lists every zone",
          "dyn.test" in d.page_source and "ann.example" in d.page_source)
    check("... each with its queries per day",
          len(d.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")) == 2)
    shoot(d, "admin-zones")

    print(f"dashboard browser: {failed} failed")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
