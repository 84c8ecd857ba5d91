"""Sales and royalties over HTTP: the documented shapes, amounts as exact strings, the campaign's ACL (another
brand's campaign is 404), and the CSV export signed in by a bearer token or the web session cookie."""

from __future__ import annotations

import csv
import io

from backend.auth.acl import Role
from backend.auth.service import begin_web_sign_in
from backend.sales.ledger import record_reports
from tests.factories import PASSWORD, make_brand, make_user
from tests.sales.helpers import chain_report, deployed_campaign, report, tx


def _seed():  # type: ignore[no-untyped-def]
    brand = make_brand()
    campaign, collection = deployed_campaign(brand=brand)
    big = report(collection, 1, price=2**70 + 1)  # more than a float (or a JS number) holds
    record_reports([big, chain_report(report(collection, 2, marketplace="blur"), royalty_paid=7, log_index=9),
                    report(collection, 3, source="rarible", marketplace="rarible")])
    return brand, campaign


def test_sales_list_shape_filters_and_acl(client, auth) -> None:  # type: ignore[no-untyped-def]
    brand, campaign = _seed()
    headers = auth(make_user(Role.BRAND_STAFF, brand))
    response = client.get(f"/api/v1/campaigns/{campaign.id}/sales?limit=10", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 10, 0)
    by_tx = {item["tx_hash"]: item for item in body["items"]}
    first = by_tx[tx(1)]
    assert first["price"] == str(2**70 + 1) and first["currency"] == "ETH" and first["decimals"] == 18
    assert (first["status"], first["royalty_paid"], first["log_index"], first["sources"]) == (
        "unverified", None, None, ["opensea"])
    assert set(first) == {"tx_hash", "log_index", "token_id", "quantity", "price", "currency", "currency_address",
                          "decimals", "marketplace", "sources", "seller", "buyer", "sold_at", "block_number",
                          "status", "value_usd", "royalty_receiver", "royalty_owed", "royalty_paid"}
    confirmed = by_tx[tx(2)]
    assert (confirmed["status"], confirmed["royalty_paid"], confirmed["log_index"], confirmed["value_usd"]) == (
        "confirmed", "7", 9, "1250.00")
    assert confirmed["token_id"] == "7"

    filtered = client.get(f"/api/v1/campaigns/{campaign.id}/sales?marketplace=blur&status=confirmed",
                          headers=headers).json()
    assert [item["tx_hash"] for item in filtered["items"]] == [tx(2)]
    assert client.get(f"/api/v1/campaigns/{campaign.id}/sales?status=lost", headers=headers).status_code == 422
    assert client.get(f"/api/v1/campaigns/{campaign.id}/sales?limit=0", headers=headers).status_code == 422
    assert client.get(f"/api/v1/campaigns/{campaign.id}/sales?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z",
                      headers=headers).status_code == 422

    outsider = auth(make_user(Role.BRAND_ADMIN, make_brand()))
    for path in ("sales", "royalties", "sales/export.csv"):
        assert client.get(f"/api/v1/campaigns/{campaign.id}/{path}", headers=outsider).status_code == 404
        assert client.get(f"/api/v1/campaigns/{campaign.id}/{path}").status_code == 401
    assert client.get("/api/v1/campaigns/999999/sales", headers=headers).status_code == 404


def test_royalties_per_currency_and_marketplace(client, auth) -> None:  # type: ignore[no-untyped-def]
    brand, campaign = _seed()
    body = client.get(f"/api/v1/campaigns/{campaign.id}/royalties",
                      headers=auth(make_user(Role.BRAND_STAFF, brand))).json()
    [eth] = body["currencies"]
    assert (eth["currency"], eth["sales"], eth["owed"], eth["paid"], eth["pending_sales"]) == ("ETH", 3, "0", "0", 3)
    assert sorted(body["marketplaces"]) == ["blur", "opensea", "rarible"]
    assert body["marketplaces"]["blur"][0]["sales"] == 1


def test_csv_export_by_session_cookie_or_token(client, auth) -> None:  # type: ignore[no-untyped-def]
    brand, campaign = _seed()
    boss = make_user(Role.BRAND_ADMIN, brand, email="sales-boss@example.com")
    url = f"/api/v1/campaigns/{campaign.id}/sales/export.csv?marketplace=opensea"
    assert client.get(url).status_code == 401
    code = begin_web_sign_in(boss.email, PASSWORD, ip="1.1.1.1")
    assert client.post("/api/v1/auth/web/session", json={"code": code}).status_code == 204
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith(f'attachment; filename="sales-campaign-{campaign.id}-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["tx_hash"], r["price_base_units"]) for r in rows] == [(tx(1), str(2**70 + 1))]
    client.cookies.clear()
    assert client.get(url, headers=auth(boss)).status_code == 200


def test_openapi_documents_the_sales_routes(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/api/openapi.json").json()["paths"]
    export = paths["/api/v1/campaigns/{campaign_id}/sales/export.csv"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
    assert {"404", "401"} <= set(paths["/api/v1/campaigns/{campaign_id}/sales"]["get"]["responses"])
    params = {p["name"] for p in paths["/api/v1/campaigns/{campaign_id}/sales"]["get"]["parameters"]}
    assert {"limit", "offset", "marketplace", "status", "from", "to", "search"} <= params
    assert "/api/v1/campaigns/{campaign_id}/royalties" in paths
