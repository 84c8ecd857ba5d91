"""Primsell's command line: `python -m backend migrate | create-admin | seed-demo | serve`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from backend.settings import ConfigurationError, get_settings


def _migrate(_: argparse.Namespace) -> int:
    from backend.migrate import upgrade

    upgrade()
    print(f"database migrated: {_safe_url()}")
    return 0


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().effective_database_url).render_as_string(hide_password=True)


def _create_admin(args: argparse.Namespace) -> int:
    from sqlmodel import select

    from backend.auth.acl import Role
    from backend.auth.models import Membership
    from backend.auth.service import create_user
    from backend.brands.models import Brand
    from backend.db import session_scope

    password = args.password or os.environ.get("PRIMSELL_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    with session_scope() as session:
        brand_id = None
        role = Role.PLATFORM_ADMIN
        if args.brand:
            brand = session.exec(select(Brand).where(Brand.slug == args.brand)).first()
            if brand is None:
                print(f"error: no brand with slug {args.brand!r}", file=sys.stderr)
                return 2
            brand_id, role = brand.id, Role.BRAND_ADMIN
        user = create_user(session, args.email, password, display_name=args.name or "")
        session.add(Membership(user_id=user.id, brand_id=brand_id, role=role))  # type: ignore[arg-type]
    print(f"created {role.value} {args.email}")
    return 0


def _seed_demo(_: argparse.Namespace) -> int:
    from backend.demo import credentials_text, seed_demo

    seed_demo()
    print(credentials_text())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from backend.serve import serve

    return serve(port=args.port, demo=not args.no_demo, dev=args.dev, jobs=not args.no_jobs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=_migrate)
    admin = commands.add_parser("create-admin", help="create a platform admin (or a brand admin with --brand)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", help="omit to be asked (or set PRIMSELL_ADMIN_PASSWORD)")
    admin.add_argument("--name", default="")
    admin.add_argument("--brand", help="brand slug: make a brand admin instead of a platform admin")
    admin.set_defaults(run=_create_admin)
    commands.add_parser("seed-demo", help="load the demo brand, people and campaigns").set_defaults(run=_seed_demo)
    serve = commands.add_parser("serve", help="migrate, seed the demo data and serve Primsell")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--no-demo", action="store_true", help="do not load demo data")
    serve.add_argument("--dev", action="store_true", help="Reflex dev mode (hot reload) instead of a production build")
    serve.add_argument("--no-jobs", action="store_true", help="do not start the daemon runner beside the web app")
    serve.set_defaults(run=_serve)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a CLI shows domain errors as one line
        from backend.errors import DomainError

        if isinstance(exc, DomainError):
            detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            print(f"error: {exc.message}" + (f" ({detail})" if detail else ""), file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
