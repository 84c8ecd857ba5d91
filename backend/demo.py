"""Demo data for `make run`: one brand, its people, and two campaigns. Safe to run again (it adds what is missing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, select

from backend.auth.acl import Role
from backend.auth.models import Membership, User
from backend.auth.service import create_user
from backend.brands.models import Brand
from backend.campaigns.models import Campaign, CampaignStatus
from backend.db import session_scope, utcnow

DEMO_BRAND_SLUG = "aurora-coffee"


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    email: str
    password: str
    brand: str | None  # None: a platform-wide role (or a consumer, who has no membership)


# Printed by `make run` and listed in the README. Demo only: never reuse these anywhere real.
DEMO_ACCOUNTS = (
    DemoAccount(Role.BRAND_ADMIN, "ava@aurora.example.com", "aurora-admin-2026", DEMO_BRAND_SLUG),
    DemoAccount(Role.BRAND_STAFF, "sam@aurora.example.com", "aurora-staff-2026", DEMO_BRAND_SLUG),
    DemoAccount(Role.KYC_REVIEWER, "kim@primsell.example.com", "primsell-kyc-2026", None),
    DemoAccount(Role.PLATFORM_ADMIN, "pat@primsell.example.com", "primsell-platform-2026", None),
    DemoAccount(Role.CONSUMER, "cleo@example.com", "consumer-demo-2026", None),
)


def _ensure_user(session: Session, account: DemoAccount) -> User:
    user = session.exec(select(User).where(User.email == account.email)).first()
    return user or create_user(session, account.email, account.password, display_name=account.email.split("@")[0].title())


def seed_demo() -> list[DemoAccount]:
    with session_scope() as session:
        brand = session.exec(select(Brand).where(Brand.slug == DEMO_BRAND_SLUG)).first()
        if brand is None:
            brand = Brand(
                slug=DEMO_BRAND_SLUG,
                name="Aurora Coffee",
                logo_url="/demo/aurora-logo.svg",
                primary_color="#7C3AED",
                accent_color="#F59E0B",
            )
            session.add(brand)
            session.flush()
        for account in DEMO_ACCOUNTS:
            user = _ensure_user(session, account)
            if account.role is Role.CONSUMER:
                continue
            brand_id = brand.id if account.brand else None
            exists = session.exec(
                select(Membership).where(Membership.user_id == user.id, Membership.brand_id == brand_id)
            ).first()
            if exists is None:
                session.add(Membership(user_id=user.id, brand_id=brand_id, role=account.role))  # type: ignore[arg-type]
        now = utcnow()
        campaigns = [
            Campaign(
                brand_id=brand.id,  # type: ignore[arg-type]
                slug="aurora-founders",
                name="Aurora Founders Pass",
                description="The first 500 holders get a free coffee every month for a year and early access "
                "to every seasonal roast.",
                image_url="/demo/founders.svg",
                price_minor=2500,
                currency="USD",
                supply_cap=500,
                per_wallet_cap=5,
                sale_starts_at=now - timedelta(days=1),
                sale_ends_at=now + timedelta(days=60),
                royalty_bps=500,
                royalty_receiver="0x8ba1f109551bD432803012645Ac136ddd64DBA72",
                status=CampaignStatus.PUBLISHED,
            ),
            Campaign(
                brand_id=brand.id,  # type: ignore[arg-type]
                slug="aurora-winter-roast",
                name="Winter Roast Collectible",
                description="A limited winter collectible: each token carries a bag of the winter roast.",
                image_url="/demo/winter.svg",
                price_minor=4000,
                currency="EUR",
                supply_cap=100,
                per_wallet_cap=2,
                sale_starts_at=now + timedelta(days=7),
                sale_ends_at=now + timedelta(days=37),
                royalty_bps=750,
                royalty_receiver="0x8ba1f109551bD432803012645Ac136ddd64DBA72",
                status=CampaignStatus.PUBLISHED,
            ),
        ]
        for campaign in campaigns:
            if session.exec(select(Campaign).where(Campaign.slug == campaign.slug)).first() is None:
                session.add(campaign)
    return list(DEMO_ACCOUNTS)


DEMO_CAMPAIGN_SLUGS = ("aurora-founders", "aurora-winter-roast")


def request_demo_deploys(slugs: tuple[str, ...] = DEMO_CAMPAIGN_SLUGS) -> None:
    """Queue the demo campaigns' contract deploys (`make run` does), so buying works once the daemons have run.

    Kept apart from seed_demo: the seed is data only, and the admin can deploy a seeded campaign by hand.
    """
    from backend.auth.service import load_actor
    from backend.chain.deployments import request_deploy
    from backend.errors import Conflict

    admin_email = next(a.email for a in DEMO_ACCOUNTS if a.role is Role.BRAND_ADMIN)
    with session_scope() as session:
        admin = session.exec(select(User).where(User.email == admin_email)).one()
        actor = load_actor(session, admin)
        campaign_ids = session.exec(select(Campaign.id).where(Campaign.slug.in_(slugs))).all()  # type: ignore[attr-defined]
    for campaign_id in campaign_ids:
        try:
            request_deploy(actor, campaign_id)  # type: ignore[arg-type]
        except Conflict:
            pass  # already requested, deploying or deployed (a second seed changes nothing)


def credentials_text() -> str:
    lines = ["Demo accounts (demo data only):"]
    for account in DEMO_ACCOUNTS:
        lines.append(f"  {account.role.value:<15} {account.email:<28} {account.password}")
    return "\n".join(lines)
