"""Browser journeys of rewards: the staff scanner reads a holder's QR code through a REAL camera path (Chromium's
fake video device fed from a .y4m file drawn from the code), redeems it, and refuses it the second time with the
reason; the holder's "My rewards" page shows the perk and its QR code."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.models import User
from backend.auth.service import load_actor
from backend.campaigns.models import Campaign
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS
from backend.rewards import redemption, service
from backend.rewards.holdings import Holder
from backend.rewards.qr import qr_matrix
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Tab
from tests.e2e.helpers import wallet_page
from tests.factories import record_deployed_contract
from tests.rewards.helpers import hold

ACCOUNTS = {a.role: a for a in DEMO_ACCOUNTS}
HOLDER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
WIDTH, HEIGHT = 640, 480


def write_y4m(path: Path, text: str, frames: int = 3) -> Path:
    """A YUV4MPEG2 video (4:2:0, grey chroma) of the QR code of `text`, drawn module by module: what Chromium's
    --use-file-for-fake-video-capture plays as the camera, looping."""
    matrix = qr_matrix(text)
    modules = len(matrix)
    # qr-scanner looks at the middle two thirds of the frame: the code must fit well inside it.
    scale = (min(WIDTH, HEIGHT) * 55 // 100) // modules
    left, top = (WIDTH - modules * scale) // 2, (HEIGHT - modules * scale) // 2
    luma = bytearray(b"\xff" * (WIDTH * HEIGHT))
    for row, cells in enumerate(matrix):
        for column, dark in enumerate(cells):
            if dark:
                for y in range(top + row * scale, top + (row + 1) * scale):
                    start = y * WIDTH + left + column * scale
                    luma[start:start + scale] = b"\x00" * scale
    chroma = b"\x80" * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + bytes(luma) + chroma + chroma)
    return path


def _perk_on_demo_campaign(**fields: object):  # type: ignore[no-untyped-def]
    """A perk on the demo brand's founders campaign, and token 1 held by HOLDER (as the indexer records it)."""
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == "aurora-founders")).one()
        admin = load_actor(session, session.exec(select(User).where(
            User.email == ACCOUNTS[Role.BRAND_ADMIN].email)).one())
    record_deployed_contract(campaign)
    reward = service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "perk", "title": "Free flat white", "use_period": "day", "uses_per_period": 1} | fields)
    hold(campaign, 1, HOLDER)
    return reward


@pytest.fixture
def camera_tab(app_url: str, tmp_path: Path, demo_data: None, configure,  # type: ignore[no-untyped-def]
               playwright) -> Iterator[tuple[Tab, str]]:
    """Chromium whose camera plays the holder's freshly issued QR code."""
    configure(REWARD_QR_TTL_S=600)  # this process signs the code; the journey may take a while on a busy machine
    reward = _perk_on_demo_campaign()
    code = redemption.issue_code(Holder((HOLDER,)), reward.id, 1).code
    video = write_y4m(tmp_path / "qr.y4m", code)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    context = browser.new_context(viewport={"width": 1100, "height": 900}, permissions=["camera"])
    context.set_default_timeout(30_000)
    page = context.new_page()
    tab = Tab(page=page, base_url=app_url)
    page.on("pageerror", lambda exc: tab.console_errors.append(f"page error: {exc}"))
    try:
        yield tab, code
    finally:
        page.goto("about:blank")
        context.close()
        browser.close()


def test_staff_scan_a_holders_code_with_the_camera_redeem_it_and_the_second_scan_is_refused(camera_tab) -> None:  # type: ignore[no-untyped-def]
    tab, _ = camera_tab
    page = tab.page
    staff = ACCOUNTS[Role.BRAND_STAFF]
    tab.goto("/redeem/scan")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=%2Fredeem%2Fscan$"), timeout=30_000)
    page.locator("#email").fill(staff.email)
    page.locator("#password").fill(staff.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/redeem/scan/?$"), timeout=30_000)

    message = page.locator("#scan-message")
    try:
        expect(message).to_contain_text("Valid: confirm to redeem one use.", timeout=60_000)  # read by the camera
    finally:
        tab.screenshot("rewards-scan-camera")
    expect(page.locator("#scan-perk")).to_have_text("Free flat white")
    expect(page.locator("#scan-token")).to_have_text("#1")
    expect(page.locator("#scan-uses")).to_have_text("1 of 1 left today")
    page.locator("#confirm-redeem").click()
    expect(message).to_contain_text("Redeemed: Free flat white for token #1.", timeout=30_000)
    expect(page.locator("#scan-uses")).to_have_text("0 of 1 left today")

    page.locator("#scan-next").click()  # the same code is still in front of the camera
    expect(message).to_contain_text(re.compile(r"This code was already used at \d\d:\d\d UTC by Sam"),
                                    timeout=60_000)
    expect(page.locator("#confirm-redeem")).to_have_count(0)
    tab.screenshot("rewards-scan-refused")
    with session_scope() as session:
        from backend.rewards.models import RewardAttempt, RewardRedemption

        assert len(session.exec(select(RewardRedemption)).all()) == 1
        outcomes = [a.outcome.value for a in session.exec(select(RewardAttempt).order_by(RewardAttempt.id)).all()]
    assert outcomes == ["accepted", "refused"]
    assert tab.console_errors == []


def test_staff_type_a_code_when_the_camera_is_not_there(tab: Tab) -> None:
    page = tab.page
    reward = _perk_on_demo_campaign(title="Free croissant")
    code = redemption.issue_code(Holder((HOLDER,)), reward.id, 1).code
    staff = ACCOUNTS[Role.BRAND_STAFF]
    tab.goto("/admin/login?next=%2Fredeem%2Fscan")
    page.locator("#email").fill(staff.email)
    page.locator("#password").fill(staff.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/redeem/scan/?$"), timeout=30_000)
    page.locator("#manual-code").fill(code[:-2] + ("AA" if not code.endswith("AA") else "BB"))  # altered
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#scan-message")).to_contain_text("not a valid reward code", timeout=30_000)
    page.locator("#scan-next").click()
    page.locator("#manual-code").fill(code)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#scan-perk")).to_have_text("Free croissant", timeout=30_000)
    page.locator("#confirm-redeem").click()
    expect(page.locator("#scan-message")).to_contain_text("Redeemed", timeout=30_000)


def test_an_account_holder_sees_the_perk_and_its_qr_code(tab: Tab) -> None:
    from backend.chain.keys import custodial_address

    page = tab.page
    consumer = ACCOUNTS[Role.CONSUMER]
    with session_scope() as session:
        user_id = session.exec(select(User.id).where(User.email == consumer.email)).one()
    reward = _perk_on_demo_campaign(title="Free cookie")
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == "aurora-founders")).one()
    hold(campaign, 2, custodial_address(user_id))  # type: ignore[arg-type]
    tab.goto("/redeem/rewards")
    expect(page.locator("#no-perks")).to_contain_text("Sign in or connect your wallet", timeout=30_000)
    tab.goto("/account/login?next=%2Fredeem%2Frewards")
    page.locator("#email").fill(consumer.email)
    page.locator("#password").fill(consumer.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/redeem/rewards/?$"), timeout=30_000)
    perk = page.locator(f"#perk-{reward.id}-2")
    expect(perk).to_contain_text("Free cookie", timeout=30_000)
    expect(perk).to_contain_text("1 of 1 left today")
    expect(page.locator(f"#perk-{reward.id}-1")).to_have_count(0)  # someone else's token
    perk.get_by_role("button", name="Show QR").click()
    expect(page.locator("#reward-qr")).to_be_visible(timeout=30_000)
    code = page.locator("#reward-code").inner_text()
    assert code.startswith(f"R1.{reward.id}.2.") and time.time() > 0
    tab.assert_no_console_errors()


def _deploy_and_mint(w3, owner: str) -> str:  # type: ignore[no-untyped-def]
    from contracts.artifacts import load_artifact

    artifact = load_artifact("PrimsellCollection")
    deployer = w3.eth.accounts[0]
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(
        "Founders", "FND", 100, deployer, deployer, deployer, 500, "http://127.0.0.1/meta/").transact(
        {"from": deployer}))
    collection = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    w3.eth.wait_for_transaction_receipt(collection.functions.mintTo(owner, 1).transact({"from": deployer}))
    assert collection.functions.ownerOf(1).call() == owner
    return receipt["contractAddress"]


def test_a_wallet_signs_in_with_ethereum_sees_its_perk_and_loses_it_once_the_token_moves(
        app_url: str, browser, anvil_node, demo_data: None) -> None:  # type: ignore[no-untyped-def]
    from eth_account import Account
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(anvil_node.url))
    holder, stranger = Account.create(), Account.create()
    collection = _deploy_and_mint(w3, holder.address)
    with session_scope() as session:
        campaign = session.exec(select(Campaign).where(Campaign.slug == "aurora-founders")).one()
        admin = load_actor(session, session.exec(select(User).where(
            User.email == ACCOUNTS[Role.BRAND_ADMIN].email)).one())
    record_deployed_contract(campaign, collection)
    reward = service.define_reward(admin, campaign.id, {  # type: ignore[arg-type]
        "kind": "perk", "title": "Backstage pass", "use_period": "ever", "uses_per_period": 1})
    hold(campaign, 1, holder.address, collection=collection)  # what the indexer recorded from the mint

    context, tab = wallet_page(browser, app_url, holder)
    page = tab.page
    tab.goto("/redeem/rewards")
    page.locator("#connect-wallet").click()
    expect(page.locator("#wallet-address")).to_have_text(holder.address, timeout=30_000)
    perk = page.locator(f"#perk-{reward.id}-1")
    expect(perk).to_contain_text("Backstage pass", timeout=30_000)
    expect(perk).to_contain_text("1 of 1 left")

    other_context, other_tab = wallet_page(browser, app_url, stranger)
    other_tab.goto("/redeem/rewards")
    other_tab.page.locator("#connect-wallet").click()
    expect(other_tab.page.locator("#wallet-address")).to_have_text(stranger.address, timeout=30_000)
    expect(other_tab.page.locator("#no-perks")).to_contain_text("No perks to use right now")
    other_context.close()

    # The holder sells the token on chain; the indexer has not caught up, but ownerOf has.
    w3.provider.make_request("anvil_setBalance", [holder.address, hex(10**18)])
    token = w3.eth.contract(address=collection, abi=[{
        "type": "function", "name": "transferFrom", "stateMutability": "nonpayable", "outputs": [],
        "inputs": [{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
                   {"name": "tokenId", "type": "uint256"}]}])
    tx = token.functions.transferFrom(holder.address, stranger.address, 1).build_transaction({
        "from": holder.address, "nonce": w3.eth.get_transaction_count(holder.address), "chainId": w3.eth.chain_id,
        "gas": 200_000, "maxFeePerGas": w3.eth.gas_price * 2, "maxPriorityFeePerGas": 1})
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(holder.sign_transaction(tx).raw_transaction))
    page.reload()
    expect(page.locator("#wallet-address")).to_have_text(holder.address, timeout=30_000)  # still signed in
    expect(page.locator("#no-perks")).to_contain_text("No perks to use right now", timeout=30_000)
    assert tab.console_errors == []
    context.close()
