"""Browser journeys of the chain admin: a brand admin deploys a campaign's contract and watches it land (and its
first tokens) without reloading; the platform admin sees the signer and the transaction; staff cannot deploy."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlmodel import select
from web3 import Web3

from backend.auth.acl import Role
from backend.campaigns.models import Campaign, CampaignStatus
from backend.chain.mints import queue_mint
from backend.chain.models import ContractDeployment
from backend.chain.service import deployment_status, request_deploy
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS
from backend.workflow.transitions import transition
from contracts.artifacts import load_artifact
from tests.e2e.conftest import Tab
from tests.e2e.helpers import BRAND_ADMIN, PLATFORM_ADMIN, brand_admin_actor, sign_in

pytestmark = pytest.mark.e2e

ACCOUNTS = {a.role: a for a in DEMO_ACCOUNTS}
STAFF = ACCOUNTS[Role.BRAND_STAFF]
CAMPAIGN = "Aurora Founders Pass"
BUYER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
DEPLOY_TIMEOUT_MS = 60_000


def demo_campaign() -> Campaign:
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.name == CAMPAIGN)).one()
        session.expunge(campaign)
        return campaign


def open_campaign(tab: Tab, email: str, password: str) -> None:
    page = tab.page
    sign_in(tab, email, password)
    expect(page.locator("#signed-in-email")).to_have_text(email)
    page.get_by_role("link", name=CAMPAIGN).click()
    expect(page).to_have_url(re.compile(r"/admin/campaigns/\d+/?$"))
    expect(page.locator("#campaign-heading")).to_have_text(CAMPAIGN)


def test_brand_admin_deploys_the_contract_and_watches_it_land_without_reloading(
        tab: Tab, job_runner: object, anvil_node: object) -> None:
    page = tab.page
    campaign = demo_campaign()
    open_campaign(tab, BRAND_ADMIN.email, BRAND_ADMIN.password)
    expect(page.get_by_role("link", name="Chain")).to_have_count(0)  # a platform page

    section = page.locator("#contract-section")
    expect(section.locator("#contract-stage")).to_have_text("Not deployed")
    expect(section.get_by_test_id("table-empty")).to_have_text("No tokens minted yet")
    expect(section.get_by_test_id("timeline-empty")).to_be_visible()
    expect(page.locator("#minted-count")).to_have_text(f"0 of {campaign.supply_cap}")

    # Anything set on `window` survives only as long as the page is not reloaded.
    page.evaluate("window.__sameDocument = true")
    page.locator("#deploy-contract").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Deploy this campaign's contract?")
    dialog.get_by_role("button", name="Deploy contract").click()

    expect(section.locator("#contract-stage")).to_have_text("Deployed", timeout=DEPLOY_TIMEOUT_MS)
    address = page.locator("#contract-address").inner_text().strip()
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", address), address
    expect(section.locator("#deploy-tx")).to_have_text(re.compile(r"^0x[0-9a-f]{64}$"))
    expect(section.get_by_test_id("timeline-entry")).to_have_count(3)  # requested, sent, confirmed
    expect(page.locator("#deploy-contract")).to_have_count(0)
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"

    # The contract is real: code at the address, and the campaign's supply as its cap.
    w3 = Web3(Web3.HTTPProvider(anvil_node.url))  # type: ignore[attr-defined]
    assert len(w3.eth.get_code(address)) > 0
    collection = w3.eth.contract(address=address, abi=load_artifact("PrimsellCollection")["abi"])
    assert collection.functions.maxSupply().call() == campaign.supply_cap

    # A sale's mint request: the dispatcher mints it and the page shows the tokens, still without a reload.
    with session_scope() as session:
        queue_mint(session, "e2e:order:1", campaign.id, BUYER, 2)  # type: ignore[arg-type]
    expect(page.locator("#minted-count")).to_have_text(f"2 of {campaign.supply_cap}", timeout=DEPLOY_TIMEOUT_MS)
    rows = section.get_by_test_id("token-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("#1")
    assert collection.functions.ownerOf(1).call() == BUYER
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    tab.screenshot("admin-campaign-contract")
    tab.assert_no_console_errors()


def failed_deployment(campaign_id: int, reason: str) -> None:
    """A deployment whose transaction failed, as the deployer's finish hook leaves it (no runner involved)."""
    request_deploy(brand_admin_actor(), campaign_id)
    with session_scope() as session:
        deployment = session.exec(select(ContractDeployment).where(ContractDeployment.campaign_id == campaign_id)).one()
        transition(session, deployment, "start_deploy", actor="daemon:contract_deployer")
        deployment.error = reason
        transition(session, deployment, "fail_deploy", actor="daemon:contract_deployer", reason=reason)


def test_a_failed_deployment_shows_its_reason_and_retry_deploys_it(tab: Tab) -> None:
    page = tab.page
    campaign = demo_campaign()
    failed_deployment(campaign.id, "insufficient funds for gas")  # type: ignore[arg-type]
    open_campaign(tab, BRAND_ADMIN.email, BRAND_ADMIN.password)

    section = page.locator("#contract-section")
    expect(section.locator("#contract-stage")).to_have_text("Failed")
    expect(section.locator("#deploy-error")).to_contain_text("insufficient funds for gas")
    expect(page.locator("#deploy-contract")).to_have_count(0)
    tab.screenshot("admin-campaign-contract-failed")

    page.locator("#retry-deploy").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Retry the deployment?")
    dialog.get_by_role("button", name="Retry").click()
    expect(section.locator("#contract-stage")).to_have_text("Queued")
    expect(section.get_by_test_id("timeline-entry")).to_have_count(4)  # requested, sent, failed, retried
    expect(page.locator("#retry-deploy")).to_have_count(0)
    tab.assert_no_console_errors()


def test_a_draft_cannot_be_deleted_once_its_deploy_is_requested_and_the_page_says_why(tab: Tab) -> None:
    page = tab.page
    campaign = demo_campaign()
    with session_scope() as session:
        draft = session.get(Campaign, campaign.id)
        draft.status = CampaignStatus.DRAFT  # type: ignore[union-attr]
    open_campaign(tab, BRAND_ADMIN.email, BRAND_ADMIN.password)
    expect(page.get_by_role("button", name="Delete draft")).to_be_visible()
    expect(page.locator("#delete-draft-refused")).to_have_count(0)

    request_deploy(brand_admin_actor(), campaign.id)  # type: ignore[arg-type]  # no runner: it stays queued
    expect(page.locator("#contract-stage")).to_have_text("Queued", timeout=DEPLOY_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Delete draft")).to_have_count(0)
    expect(page.locator("#delete-draft-refused")).to_contain_text("archive it instead")
    tab.assert_no_console_errors()


def _deploy_demo_campaign() -> None:
    """Deploy through the service as the brand admin, and let the live runner finish it."""
    campaign = demo_campaign()
    actor = brand_admin_actor()
    request_deploy(actor, campaign.id)  # type: ignore[arg-type]
    deadline = time.monotonic() + DEPLOY_TIMEOUT_MS / 1000
    while (state := deployment_status(actor, campaign.id).state) != "deployed":  # type: ignore[arg-type]
        assert state != "failed" and time.monotonic() < deadline, f"deployment is {state}"
        time.sleep(0.5)


def test_platform_admin_sees_the_signer_balance_and_the_confirmed_deploy_transaction(
        tab: Tab, job_runner: object) -> None:
    page = tab.page
    _deploy_demo_campaign()
    sign_in(tab, PLATFORM_ADMIN.email, PLATFORM_ADMIN.password)
    expect(page.locator("#signed-in-email")).to_have_text(PLATFORM_ADMIN.email)
    page.get_by_role("link", name="Chain").click()
    expect(page).to_have_url(re.compile(r"/admin/chain/?$"))

    card = page.get_by_test_id("balance-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("local")
    expect(card.get_by_test_id("signer-balance")).to_have_text(re.compile(r"^[\d,]+\.\d{6}$"))
    expect(card.get_by_test_id("low-balance-warning")).to_have_count(0)

    rows = page.get_by_test_id("tx-row")
    deploy = rows.filter(has_text="Deploy")
    expect(deploy).to_have_count(1)
    expect(deploy).to_contain_text("Confirmed")
    expect(deploy).to_contain_text(re.compile(r"0x[0-9a-f]{8}…"))

    page.locator("#tx-status-filter").select_option("reverted")
    expect(page.get_by_test_id("table-empty")).to_have_text("No transactions match")
    page.locator("#tx-status-filter").select_option("confirmed")
    page.locator("#tx-purpose-filter").select_option("deploy")
    expect(rows).to_have_count(1)
    tab.screenshot("admin-chain")
    tab.assert_no_console_errors()


def test_staff_sees_the_contract_but_cannot_deploy_it_nor_open_the_chain_page(tab: Tab) -> None:
    page = tab.page
    open_campaign(tab, STAFF.email, STAFF.password)
    section = page.locator("#contract-section")
    expect(section.locator("#contract-stage")).to_have_text("Not deployed")
    expect(page.locator("#deploy-contract")).to_have_count(0)
    expect(page.get_by_role("button", name="Deploy contract")).to_have_count(0)
    expect(page.get_by_role("link", name="Chain")).to_have_count(0)

    tab.goto("/admin/chain")
    expect(page.locator("#no-access")).to_have_text("You don't have access to this area")
    expect(page.get_by_test_id("tx-row")).to_have_count(0)
    tab.assert_no_console_errors()
