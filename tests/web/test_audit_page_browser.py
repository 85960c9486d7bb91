"""The auditor page in a real headless browser (Debian's chromium driven by Playwright): sign in,
filter, open a timeline, download the CSV. A screenshot of each step lands in the test's temp
folder (and in $AUDIT_PAGE_SCREENSHOTS, if set)."""

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from app.db import Database
from app.main import create_app
from app.services.decisions import Verdict
from bench.standins.server import ServerThread
from tests.api.conftest import production_settings
from tests.audit_story import CONFIDENT_APPROVE, click, expense, staff

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "the auditor page test needs Debian's chromium: run `apt-get install -y chromium` "
            "(`make test` does it when run as root)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


def shoot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("AUDIT_PAGE_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def test_an_auditor_signs_in_filters_reads_a_timeline_and_downloads_the_csv(
    browser: Browser,
    db: Database,
    postgres_url: str,
    slack_standin: ServerThread,
    policy_file: Path,
    tmp_path: Path,
) -> None:
    alice = staff(db, name="Alice Martin")
    bob = staff(db, name="Bob Chen")
    ann = staff(db, "approver", name="Ann Approver")
    dana = staff(db, "auditor", name="Dana Auditor")
    expense(
        db,
        alice,
        amount="42.50",
        merchant="Cafe Central",
        category="meals",
        advice=CONFIDENT_APPROVE,
    )
    rejected = expense(db, alice, amount="1890.00", merchant="Grand Hotel", category="lodging")
    click(db, rejected, alice)  # refused: her own expense
    click(
        db,
        rejected,
        ann,
        Verdict.REJECT,
        reason="Hotel above the city limit; book the partner hotel",
    )
    waiting = expense(db, alice, amount="640.00", currency="EUR", merchant="Rail Europe")
    expense(db, bob, amount="75.00", merchant="Bob's Books")
    settings = production_settings(postgres_url, slack_standin.url, policy_file)
    app = create_app(settings, job_sender=lambda _jobs: None)
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    try:
        with ServerThread(app) as server:
            page = context.new_page()
            page.goto(f"{server.url}/audit/")
            expect(page).to_have_url(f"{server.url}/audit/sign-in")
            page.get_by_label("API token").fill(dana.token)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{server.url}/audit/")
            assert dana.token not in page.url
            expect(page.get_by_text("Signed in as")).to_contain_text(dana.name)
            expect(page.locator(".chain")).to_contain_text("Intact")

            page.get_by_label("Submitter email").fill(alice.email)
            page.get_by_role("button", name="Apply filters").click()
            rows = page.locator("table.expenses tbody tr")
            expect(rows).to_have_count(3)
            expect(page.locator("table.expenses")).not_to_contain_text("Bob's Books")
            expect(rows.filter(has_text="Cafe Central")).to_contain_text("AI (auto-approved")
            expect(rows.filter(has_text="Grand Hotel")).to_contain_text("Ann Approver (reject)")
            expect(rows.filter(has_text="Rail Europe")).to_contain_text("Waiting for approval")
            shoot(page, tmp_path, "audit-page")

            rows.filter(has_text="Grand Hotel").get_by_role("link", name="Timeline").click()
            expect(page).to_have_url(f"{server.url}/audit/expenses/{rejected}")
            story = page.locator("ol.timeline > li")
            expect(story).to_have_count(4)
            expect(story.nth(2)).to_contain_text("Decision refused")
            expect(story.nth(3)).to_contain_text("Rejected")
            expect(story.nth(3)).to_contain_text("book the partner hotel")
            shoot(page, tmp_path, "audit-timeline")

            page.go_back()
            with page.expect_download() as download_info:
                page.get_by_role("link", name="CSV (spreadsheet)").click()
            download = download_info.value
            assert download.suggested_filename.endswith(".csv")
            text = Path(download.path()).read_bytes().decode("utf-8-sig")
            exported = list(csv.DictReader(io.StringIO(text, newline="")))
            assert {r["expense_id"] for r in exported} == {str(e) for e in (rejected, waiting)} | {
                r["expense_id"] for r in exported if r["action"] == "auto_approved"
            }
            assert len({r["expense_id"] for r in exported}) == 3
            assert any(r["reason"].startswith("Hotel above") for r in exported)

            page.get_by_role("button", name="Sign out").click()
            expect(page).to_have_url(f"{server.url}/audit/sign-in")
            page.goto(f"{server.url}/audit/")
            expect(page).to_have_url(f"{server.url}/audit/sign-in")
    finally:
        context.close()
        app.state.db.dispose()
