"""The web portal in a real browser: Debian's Chromium driven by Playwright, every process real.

A resident on a 360-pixel phone goes from the village website to a downloaded letter whose QR
URL opens the public verification page; the office checks and signs it on its own screens; the
treasurer's payment shows on the public APBDes page to the rupiah; the regency dashboard lists
every village; the main pages fit a phone, stay small and pass axe-core without serious
violations. One browser for the module; each person gets their own context (cookies).

Screenshots go to $DESA_SCREENSHOT_DIR when set (the README's come from there), else to a
temporary folder.
"""
from __future__ import annotations

import io
import os
import time
from datetime import date
from pathlib import Path

import pytest
import requests

from tests.unit.letters.samples import png_bytes

playwright_api = pytest.importorskip("playwright.sync_api")

# A whole journey through several people on a loaded 2-core machine takes minutes.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("DESA_CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
LAUNCH_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
WAIT_MS = 60_000

VILLAGE = "36.04.05.2010"  # Pegadingan: no other e2e test uses it
DISTRICT = "36.04.05"  # Kramatwatu: 15 villages
DISTRICT_VILLAGES = 15
NIK = "3604055506889001"  # fake: district 360405, woman born 15-06-1988, serial 9001
LAST_YEAR = date.today().year - 1
HOME_PAGE_BUDGET_BYTES = 150 * 1024


def _resident(nik: str, name: str, sex: str, born: str, family: str | None = None) -> dict:
    body = {"nik": nik, "name": name, "sex": sex, "birth_place": "Serang", "birth_date": born,
            "religion": "Islam", "marital_status": "Kawin", "occupation": "Petani",
            "education": "SLTA/Sederajat",
            "address": {"dusun": "Pegadingan", "rw": "002", "rt": "001"}}
    if family:
        body.update(family_number=family, relationship=1)
    return body


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make install does)")
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("DESA_SCREENSHOT_DIR") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def village(platform) -> dict:
    """Pegadingan with a profile, a resident with a PIN and a family, and staff accounts."""
    officer = platform.auth(platform.staff_token("officer", VILLAGE))
    head = platform.auth(platform.staff_token("head", VILLAGE))
    response = requests.patch(platform.api(f"/villages/{VILLAGE}"), headers=head, timeout=30,
                              json={"head_name": "H. Ahmad Suryadi",
                                    "office_address": "Jl. Raya Pegadingan No. 1",
                                    "internet_installed": True})
    assert response.status_code == 200, response.text
    response = requests.post(platform.api(f"/villages/{VILLAGE}/residents"), headers=officer,
                             timeout=30, json=_resident(NIK, "Rina Marlina", "P", "1988-06-15",
                                                        family="3604051506100001"))
    assert response.status_code == 201, response.text
    response = requests.post(platform.api(f"/residents/{NIK}/pin"), headers=officer, timeout=30)
    assert response.status_code == 201, response.text
    pin = response.json()["pin"]
    response = requests.patch(platform.api(f"/villages/{VILLAGE}/profile"), headers=officer,
                              timeout=30, json={
                                  "vision": "Pegadingan maju, mandiri dan melayani secara digital",
                                  "officials": [{"name": "H. Ahmad Suryadi",
                                                 "position": "Kepala Desa"},
                                                {"name": "Dewi Lestari",
                                                 "position": "Sekretaris Desa"}]})
    assert response.status_code == 200, response.text
    return {"pin": pin}


def _log_in_staff(context, platform, role: str, village_code: str | None = VILLAGE):
    district = DISTRICT if role == "district_admin" else None
    username, password = platform.staff_credentials(role, village_code, district)
    page = context.new_page()
    page.goto(f"{platform.url}/masuk")
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk sebagai petugas").click()
    page.wait_for_load_state()
    assert "/masuk" not in page.url, page.content()
    return page


def _wait_for(page, expression: str, seconds: float = 15) -> None:
    """Poll a JavaScript expression until it is true. Not `page.wait_for_function`: when its
    first check is false it polls with an `eval` inside the page, which the portal's CSP
    (`script-src 'none'`) refuses, so it failed whenever an image had not loaded yet."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        time.sleep(0.1)


def _jpeg() -> dict:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (960, 640), "seagreen").save(out, "JPEG")
    return {"name": "kerja-bakti.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def _status(page) -> str:
    return page.locator("[data-status]").first.get_attribute("data-status")


def test_a_resident_gets_a_verifiable_letter_from_a_phone(platform, browser, village, shots):
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{platform.url}/desa/{VILLAGE}")
    page.get_by_role("link", name="Masuk dengan NIK dan PIN").click()
    page.get_by_label("NIK (16 angka)").fill(NIK)
    page.get_by_label("PIN").fill(village["pin"])
    page.get_by_role("button", name="Masuk sebagai warga").click()
    assert page.get_by_role("heading", name="Halo, Rina Marlina").is_visible()
    page.screenshot(path=str(shots / "warga-beranda.png"), full_page=True)

    photo = {"name": "foto.png", "mimeType": "image/png", "buffer": png_bytes()}
    deadline = time.monotonic() + 60
    while True:  # the letters service learns of the resident from registry's event
        page.goto(f"{platform.url}/warga/surat/baru")
        page.get_by_role("link", name="Surat Keterangan Domisili").click()
        page.get_by_label("Keperluan").fill("Melamar pekerjaan di pabrik")
        for label in ("Foto KTP", "Foto Kartu Keluarga", "Surat pengantar RT/RW"):
            page.get_by_label(label).set_input_files(photo)
        page.screenshot(path=str(shots / "warga-ajukan-surat.png"), full_page=True)
        page.get_by_role("button", name="Kirim permohonan").click()
        if "/warga/surat/baru" not in page.url or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert page.get_by_text("Permohonan terkirim").is_visible(), page.content()
    assert _status(page) == "submitted"
    letter_id = page.url.rsplit("/", 1)[1].split("?")[0]
    assert page.locator("section[aria-labelledby=lampiran] li").count() == 3

    office = browser.new_context(**DESKTOP)
    officer = _log_in_staff(office, platform, "officer")
    officer.get_by_role("link", name="Surat", exact=True).click()
    officer.locator(f"a[href$='{letter_id}']").click()
    # Fetched through the page's own context, so with the officer's login cookie.
    ktp = officer.get_by_role("link", name="Foto KTP").get_attribute("href")
    seen = officer.request.get(f"{platform.url}{ktp}")
    assert seen.status == 200 and seen.headers["content-type"] == "image/png"
    assert seen.body() == png_bytes()
    officer.screenshot(path=str(shots / "kantor-periksa-surat.png"), full_page=True)
    officer.get_by_role("button", name="Tandai sudah diperiksa").click()
    assert _status(officer) == "checked"
    assert officer.get_by_role("button", name="Tanda tangani dan terbitkan").count() == 0

    head = _log_in_staff(browser.new_context(**DESKTOP), platform, "head")
    head.goto(f"{platform.url}/kantor/surat/{letter_id}")
    head.get_by_role("button", name="Tanda tangani dan terbitkan").click()
    for _ in range(30):  # issued once its PDF is stored, normally in the same call
        if _status(head) == "issued":
            break
        time.sleep(1)
        head.reload()
    assert _status(head) == "issued"

    page.goto(f"{platform.url}/warga/surat/{letter_id}")
    link = page.get_by_role("link", name="Unduh PDF")
    assert link.get_attribute("download") is not None
    pdf = page.request.get(f"{platform.url}{link.get_attribute('href')}")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment")
    assert pdf.body().startswith(b"%PDF")
    assert browser.new_context().request.get(  # nobody else's cookies open it
        f"{platform.url}{link.get_attribute('href')}", max_redirects=0).status == 302
    page.screenshot(path=str(shots / "warga-surat-terbit.png"), full_page=True)

    # The QR code holds the API's verify URL; a browser that opens it gets the page.
    qr_url = page.get_by_role("link", name="Halaman verifikasi (kode QR)").get_attribute("href")
    assert "/api/v1/verify/" in qr_url
    anyone = browser.new_context(**PHONE).new_page()
    anyone.goto(qr_url)
    assert "/verifikasi/" in anyone.url
    assert anyone.get_by_text("Surat ini asli").is_visible()
    text = anyone.content()
    assert NIK not in text and NIK[-2:] in text  # masked on the public page
    anyone.screenshot(path=str(shots / "verifikasi.png"), full_page=True)
    anyone.goto(qr_url[:-4] + "AAAA")
    assert anyone.get_by_text("Surat tidak dikenal").is_visible()
    # The API keeps answering JSON to programs.
    assert requests.get(qr_url, timeout=30).json()["valid"] is True
    for context in (phone, office, head.context, anyone.context):
        context.close()


def test_the_treasurers_payment_appears_on_the_public_apbdes(platform, browser, village,
                                                             shots):
    officer = platform.auth(platform.staff_token("officer", VILLAGE))
    head = platform.auth(platform.staff_token("head", VILLAGE))
    api = platform.api

    def call(method, path, headers, **kwargs):
        response = requests.request(method, api(path), headers=headers, timeout=60, **kwargs)
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()

    call("POST", f"/villages/{VILLAGE}/budgets", officer, json={"year": LAST_YEAR})
    base = f"/villages/{VILLAGE}/budgets/{LAST_YEAR}"
    call("POST", f"{base}/lines", officer, json={"account_code": "4.2.1", "source": "DDS",
                                                 "amount": 800_000_000,
                                                 "description": "Dana Desa"})
    road = call("POST", f"{base}/lines", officer, json={
        "account_code": "5.3.5", "activity_code": "02.03.01", "source": "DDS",
        "amount": 150_000_000, "description": "Jalan lingkungan"})
    call("POST", f"{base}/approve", head)
    spp = call("POST", f"/villages/{VILLAGE}/payment-requests", officer, json={
        "line_id": road["id"], "kind": "LS", "amount": 12_345_678, "payee": "CV Karya Desa",
        "description": "Pengaspalan jalan RT 001"})

    desk = {}
    for role, button in (("secretary", "Verifikasi"), ("head", "Setujui"),
                         ("treasurer", "Bayar")):
        desk[role] = _log_in_staff(browser.new_context(**DESKTOP), platform, role)
        page = desk[role]
        page.goto(f"{platform.url}/kantor/keuangan/spp?tahun={LAST_YEAR}")
        card = page.locator(f"[data-spp='{spp['number']}']")
        if role == "treasurer":
            card.get_by_label("Tanggal bayar").fill(f"{LAST_YEAR}-05-02")
            page.screenshot(path=str(shots / "kantor-spp.png"), full_page=True)
        card.get_by_role("button", name=button).click()
        assert page.locator(".alert").count() == 0, page.content()
    assert "Dibayar" in desk["treasurer"].locator(f"[data-spp='{spp['number']}']").inner_text()
    for page in desk.values():
        page.context.close()

    summary = requests.get(api(f"/public/villages/{VILLAGE}/apbdes/{LAST_YEAR}"),
                           timeout=30).json()
    public = browser.new_context(**PHONE).new_page()
    public.goto(f"{platform.url}/desa/{VILLAGE}/apbdes?tahun={LAST_YEAR}")
    spent = public.locator("[data-total=spending]").inner_text()
    assert spent == "Rp12.345.678" == f"Rp{summary['totals']['realised']['spending']:,}".replace(
        ",", ".")
    bidang = public.locator("[data-bidang='02']").inner_text()
    assert "Rp12.345.678" in bidang and "Rp150.000.000" in bidang
    public.screenshot(path=str(shots / "desa-apbdes.png"), full_page=True)
    public.context.close()


def _request_a_letter(platform) -> None:
    """A letter requested in the village this month, so the dashboard test needs no other test."""
    officer = platform.auth(platform.staff_token("officer", VILLAGE))
    body = {"type_code": "domisili", "subject_nik": NIK, "purpose": "Melamar pekerjaan"}
    deadline = time.monotonic() + 60
    while True:  # the letters service learns of the resident from registry's event
        response = requests.post(platform.api("/letters"), headers=officer, json=body,
                                 timeout=30)
        if response.status_code != 404 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 201, response.text


def test_the_regency_dashboard_lists_every_village(platform, browser, village, shots):
    _request_a_letter(platform)
    page = _log_in_staff(browser.new_context(**DESKTOP), platform, "regency_admin", None)
    assert page.url.endswith("/kabupaten")
    rows = page.locator("#desa tbody tr")
    assert rows.count() == 326
    assert page.locator("[data-total=villages]").inner_text() == "326"
    mine = page.locator(f"tr[data-village='{VILLAGE}']")
    assert "ya" in mine.inner_text()  # internet installed, set in the fixture
    page.screenshot(path=str(shots / "kabupaten-dasbor.png"))
    page.get_by_role("link", name="Surat 30 hari").click()  # sort: most active first
    recent = [int(cell) for cell in page.locator("#desa tbody td.recent").all_inner_texts()]
    assert recent == sorted(recent, reverse=True) and recent[0] >= 1
    assert int(page.locator(f"tr[data-village='{VILLAGE}'] td.recent").inner_text()) >= 1
    page.context.close()


def test_office_forms_keep_input_and_lists_work(platform, browser, village, shots):
    page = _log_in_staff(browser.new_context(**DESKTOP), platform, "officer")
    page.goto(f"{platform.url}/kantor/penduduk/baru")
    page.get_by_label("NIK").fill("1234")
    page.get_by_label("Nama lengkap").fill("Dedi Kurniawan")
    page.get_by_label("Tempat lahir").fill("Serang")
    page.get_by_role("button", name="Simpan").click()
    assert page.get_by_label("Nama lengkap").input_value() == "Dedi Kurniawan"
    assert page.locator("#e-nik").is_visible()
    assert page.get_by_label("NIK").get_attribute("aria-invalid") == "true"

    page.goto(f"{platform.url}/kantor/kk?q=Rina")
    assert "3604051506100001" in page.locator("table").inner_text()
    page.screenshot(path=str(shots / "kantor-kk.png"))

    page.goto(f"{platform.url}/kantor/impor")
    page.get_by_label("Berkas CSV").set_input_files({
        "name": "warga.csv", "mimeType": "text/csv",
        "buffer": b"nik,name,sex\n3604050101019999,Tanpa Lengkap,L\n"})
    page.get_by_role("button", name="Periksa").click()
    report = page.locator("#hasil-impor")
    assert "tidak ada yang disimpan" in report.inner_text()  # the per-row report, nothing saved
    assert "religion" in report.locator("table").inner_text()
    page.context.close()


def test_an_officer_posts_news_that_the_village_website_shows(platform, browser, village,
                                                              shots):
    officer = _log_in_staff(browser.new_context(**PHONE), platform, "officer")
    officer.get_by_role("link", name="Berita", exact=True).click()
    officer.get_by_label("Judul").fill("Kerja bakti membersihkan saluran")
    officer.get_by_label("Jenis").select_option("news")
    officer.get_by_label("Isi").fill("Minggu pagi warga RT 001 membersihkan saluran air.")
    officer.get_by_label("Foto (boleh kosong)").set_input_files(_jpeg())
    officer.screenshot(path=str(shots / "kantor-berita.png"), full_page=True)
    officer.get_by_role("button", name="Terbitkan", exact=True).click()
    assert officer.get_by_role("status").is_visible(), officer.content()
    officer.context.close()

    anyone = browser.new_context(**PHONE).new_page()
    anyone.goto(f"{platform.url}/desa/{VILLAGE}")
    anyone.get_by_role("link", name="Kerja bakti membersihkan saluran").click()
    assert anyone.get_by_role("heading", name="Kerja bakti membersihkan saluran").is_visible()
    assert anyone.locator("meta[property='og:type']").get_attribute("content") == "article"
    assert anyone.locator("meta[name=description]").get_attribute("content").startswith(
        "Minggu pagi warga")
    image = anyone.locator(".photos img").first
    assert image.get_attribute("loading") == "lazy"
    assert image.get_attribute("src").endswith("/thumbnail")
    image.scroll_into_view_if_needed()
    _wait_for(anyone, "document.querySelector('.photos img').naturalWidth > 0")
    assert anyone.evaluate("document.querySelector('.photos img').naturalWidth") <= 320
    anyone.screenshot(path=str(shots / "desa-berita.png"), full_page=True)
    anyone.context.close()


def _no_sideways_scroll_nor_serious_axe(page, axe: str) -> list[str]:
    """What is wrong with the page at a phone's width: sideways scroll, serious axe findings."""
    failures = []
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        failures.append(f"{page.url}: scrolls sideways ({width[0]} > {width[1]} px)")
    page.add_script_tag(content=axe)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
               for v in result["violations"] if v["impact"] in ("serious", "critical")]
    if serious:
        failures.append(f"{page.url}: {serious}")
    return failures


def test_an_officer_adds_a_business_with_a_photo_from_a_phone(platform, browser, village,
                                                              shots):
    """The office's potential form on a 360-px phone: a refusal keeps the input with the
    error at its field, the saved business with its photo is in the village's catalogue."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make install` fetches axe-core from npm")
    context = browser.new_context(**PHONE, bypass_csp=True)  # axe is a script
    officer = _log_in_staff(context, platform, "officer")
    officer.set_default_timeout(WAIT_MS)
    officer.get_by_role("link", name="Potensi", exact=True).click()
    officer.get_by_role("link", name="Tambah usaha").click()
    failures = _no_sideways_scroll_nor_serious_axe(officer, AXE.read_text())
    officer.get_by_label("Nama usaha").fill("Kerupuk Kulit Bu Rina")
    officer.get_by_label("NIK pemilik").fill("12345")
    officer.get_by_label("Sektor").select_option("kuliner")
    officer.get_by_label("Nama produk 1").fill("Kerupuk kulit 250 g")
    officer.get_by_label("Harga (Rp) 1").fill("15.000")
    officer.get_by_label("Halal").check()
    officer.get_by_role("button", name="Simpan").click()
    assert officer.get_by_label("NIK pemilik").get_attribute("aria-invalid") == "true"
    assert officer.locator("#e-owner_nik").is_visible()
    assert officer.get_by_label("Nama produk 1").input_value() == "Kerupuk kulit 250 g"
    assert officer.get_by_label("Halal").is_checked()
    failures += _no_sideways_scroll_nor_serious_axe(officer, AXE.read_text())

    officer.get_by_label("NIK pemilik").fill(NIK)
    officer.get_by_label("Tambah foto (boleh kosong)").set_input_files(_jpeg())
    officer.screenshot(path=str(shots / "kantor-potensi-usaha.png"), full_page=True)
    deadline = time.monotonic() + 60
    while True:  # potential learns of the owner from registry's event
        officer.get_by_role("button", name="Simpan").click()
        if officer.get_by_role("status").count() or time.monotonic() > deadline:
            break
        time.sleep(1)
        officer.get_by_label("Tambah foto (boleh kosong)").set_input_files(_jpeg())
    assert officer.get_by_role("status").is_visible(), officer.content()
    assert officer.locator("[data-photo] img").count() == 1
    assert not failures, "\n".join(failures)
    context.close()

    anyone = browser.new_context(**PHONE).new_page()
    anyone.goto(f"{platform.url}/desa/{VILLAGE}/potensi")
    card = anyone.locator("[data-business]", has_text="Kerupuk Kulit Bu Rina")
    assert card.count() == 1 and "Kerupuk kulit 250 g" in card.inner_text()
    image = card.locator("img").first
    assert image.get_attribute("loading") == "lazy"
    image.scroll_into_view_if_needed()
    _wait_for(anyone, "[...document.querySelectorAll('[data-business] img')]"
                      ".every(img => img.complete && img.naturalWidth > 0)")
    assert NIK not in anyone.content()
    anyone.context.close()


def test_the_camat_reads_the_districts_readiness(platform, browser, village, shots):
    page = _log_in_staff(browser.new_context(**PHONE), platform, "district_admin", None)
    assert page.url.endswith(f"/kecamatan/{DISTRICT}")
    assert page.locator("#desa tbody tr").count() == DISTRICT_VILLAGES
    assert page.locator("[data-total=villages]").inner_text() == str(DISTRICT_VILLAGES)
    assert "ya" in page.locator(f"tr[data-village='{VILLAGE}']").inner_text()
    assert NIK not in page.content()
    page.screenshot(path=str(shots / "kecamatan.png"), full_page=True)
    page.locator(f"tr[data-village='{VILLAGE}'] a").click()  # drill down to one village
    assert page.get_by_role("heading", name="Desa Pegadingan").is_visible()
    for path in ("/kabupaten", "/kecamatan/36.04.06", "/kantor"):
        assert page.goto(f"{platform.url}{path}").status == 403, path
    page.context.close()


def _page_bytes(page, url: str) -> int:
    """Bytes a first visit to `url` transfers: the page and everything it loads, headers too."""
    page.goto(url, wait_until="load")
    return page.evaluate("""performance.getEntriesByType('navigation')
        .concat(performance.getEntriesByType('resource'))
        .reduce((total, entry) => total + entry.transferSize, 0)""")


def test_main_pages_fit_a_phone_stay_small_and_pass_axe(platform, browser, village, shots):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make install` fetches axe-core from npm")
    axe = AXE.read_text()
    context = browser.new_context(**PHONE, bypass_csp=True)  # pages allow no script: axe
    page = context.new_page()
    first_load = _page_bytes(page, f"{platform.url}/desa/{VILLAGE}")
    assert 0 < first_load < HOME_PAGE_BUDGET_BYTES, first_load
    page.screenshot(path=str(shots / "desa-beranda.png"), full_page=True)
    assert page.locator("meta[name=description]").get_attribute("content")
    assert page.locator("meta[property='og:title']").get_attribute("content")
    # The Profil Desa from the potential service: vision and the officials.
    assert page.get_by_text("Pegadingan maju, mandiri").is_visible()
    assert "Sekretaris Desa" in page.locator("#aparat-desa").inner_text()

    page.goto(f"{platform.url}/masuk")
    page.get_by_label("NIK (16 angka)").fill(NIK)
    page.get_by_label("PIN").fill(village["pin"])
    page.get_by_role("button", name="Masuk sebagai warga").click()
    pages = [f"/desa/{VILLAGE}", f"/desa/{VILLAGE}/statistik", f"/desa/{VILLAGE}/apbdes", "/",
             f"/desa/{VILLAGE}/berita", f"/desa/{VILLAGE}/galeri", f"/desa/{VILLAGE}/potensi",
             f"/desa/{VILLAGE}/lembaga",
             "/warga", "/warga/surat/baru", "/warga/surat/baru/domisili"]
    office = _log_in_staff(browser.new_context(**PHONE, bypass_csp=True), platform, "officer")
    office_pages = ["/kantor", "/kantor/surat", "/kantor/penduduk", "/kantor/kk",
                    "/kantor/impor", "/kantor/berita", "/kantor/keuangan",
                    "/kantor/keuangan/bku", "/kantor/potensi", "/kantor/potensi/usaha",
                    "/kantor/potensi/lembaga/baru", "/kantor/potensi/profil",
                    "/akun/kata-sandi"]
    head = _log_in_staff(browser.new_context(**PHONE, bypass_csp=True), platform, "head")
    regency = _log_in_staff(browser.new_context(**PHONE, bypass_csp=True), platform,
                            "regency_admin", None)
    camat = _log_in_staff(browser.new_context(**PHONE, bypass_csp=True), platform,
                          "district_admin", None)
    failures = []
    for who, paths in ((page, pages), (office, office_pages), (head, ["/kantor/akun"]),
                       (regency, [f"/kabupaten/akun?desa={VILLAGE}"]),
                       (camat, [f"/kecamatan/{DISTRICT}"])):
        for path in paths:
            who.goto(f"{platform.url}{path}")
            failures.extend(_no_sideways_scroll_nor_serious_axe(who, axe))
    assert not failures, "\n".join(failures)
    for each in (office, head, regency, camat):
        each.context.close()
    context.close()
