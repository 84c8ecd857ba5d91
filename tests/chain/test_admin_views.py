"""What the admin pages read: signer balances and the transaction list (platform admin only), no secrets."""

from __future__ import annotations

import json

import pytest

from backend.chain.service import list_transactions, signer_balances
from backend.errors import Forbidden
from backend.settings import get_settings
from tests.chain.helpers import ChainUnderTest, People, deploy_campaign


def test_platform_admin_sees_balances_and_transactions(anvil: ChainUnderTest, people: People, configure) -> None:  # type: ignore[no-untyped-def]
    deploy_campaign(anvil, people)
    [balance] = signer_balances(people.platform_admin)
    assert balance.balance_wei and balance.balance_wei > 0 and not balance.low
    configure(SIGNER_LOW_BALANCE_WEI=10**30)
    assert signer_balances(people.platform_admin)[0].low
    page = list_transactions(people.platform_admin, purpose="deploy")
    assert page.total == 1 and page.items[0].status == "confirmed" and page.items[0].nonce == 0
    assert list_transactions(people.platform_admin, status="queued").total == 0
    for actor in (people.brand_admin, people.consumer):
        with pytest.raises(Forbidden):
            signer_balances(actor)
        with pytest.raises(Forbidden):
            list_transactions(actor)


def test_secrets_stay_out_of_reprs_and_views(anvil: ChainUnderTest, people: People) -> None:
    deploy_campaign(anvil, people)
    settings = get_settings()
    key = settings.require_secret("platform_signer_key")
    seed = settings.require_secret("custody_seed")
    shown = repr(settings) + json.dumps([vars(r) for r in list_transactions(people.platform_admin).items], default=str)
    assert key not in shown and seed not in shown
    assert "raw_tx" not in shown
