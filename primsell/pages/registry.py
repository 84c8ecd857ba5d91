"""The page decorators of every surface (route, title, layout, on_load: the list is at the end) and the registry
primsell.py adds pages from.

A surface's pages register only when its package is imported, and primsell.py imports only enabled surfaces,
so a disabled surface's routes do not exist.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import reflex as rx

from primsell.components.layout import admin_shell, checkout_shell, kyc_shell, public_shell, redeem_shell
from primsell.state.session import SessionState

PageFn = Callable[[], rx.Component]
Layout = Callable[[rx.Component], rx.Component]


@dataclass(frozen=True)
class PageSpec:
    route: str
    title: str
    component: Callable[[], rx.Component]
    on_load: list[Any] = field(default_factory=list)


PAGES: dict[str, list[PageSpec]] = {}


def surface_page(surface: str, layout: Layout, *, signed_in: bool = False) -> Callable[..., Callable[[PageFn], PageFn]]:
    """Build the decorator of one surface; signed-in pages check the session before their own loaders run."""

    def decorator(route: str, title: str, on_load: Any | Sequence[Any] = ()) -> Callable[[PageFn], PageFn]:
        loaders = list(on_load) if isinstance(on_load, (list, tuple)) else [on_load]
        if signed_in:
            loaders.insert(0, SessionState.load_session(surface))

        def register(page: PageFn) -> PageFn:
            def component() -> rx.Component:
                return layout(page())

            component.__name__ = page.__name__
            PAGES.setdefault(surface, []).append(PageSpec(route, f"{title} · Primsell", component, loaders))
            return page

        return register

    return decorator


def add_surface_pages(app: rx.App, surface: str) -> None:
    importlib.import_module(f"primsell.pages.{surface}")
    for spec in PAGES.get(surface, []):
        app.add_page(spec.component, route=spec.route, title=spec.title, on_load=spec.on_load or None)


# -- the surfaces' decorators: every page of a surface registers through one of these ------------------------------
home_page = surface_page("home", public_shell)
admin_page = surface_page("admin", admin_shell, signed_in=True)
admin_public_page = surface_page("admin", public_shell)  # sign-in, invitations
checkout_page = surface_page("checkout", checkout_shell)  # in the campaign's brand colours
checkout_public_page = surface_page("checkout", public_shell)  # the consumer's account, identity check
kyc_page = surface_page("kyc", kyc_shell, signed_in=True)
kyc_public_page = surface_page("kyc", public_shell)  # sign-in
redeem_page = surface_page("redeem", redeem_shell)
