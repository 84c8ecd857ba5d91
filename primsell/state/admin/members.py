"""Brand members: list with role and pending flag, invite by email, change role, remove (after confirmation)."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.auth.acl import BRAND_ROLES
from backend.brands.service import MemberView, change_member_role, invite_member, list_members, remove_member
from backend.errors import DomainError
from primsell import routes
from primsell.state.session import ROLE_LABELS, SessionState

ROLE_OPTIONS = [(r.value, ROLE_LABELS[r]) for r in BRAND_ROLES]


def _member_rows(members: list[MemberView]) -> list[dict[str, str]]:
    return [
        {"user_id": str(m.user_id), "email": m.email, "name": m.display_name, "role": m.role.value,
         "role_label": ROLE_LABELS[m.role], "pending": "yes" if m.pending else ""}
        for m in members
    ]


class AdminMembersState(rx.State):
    members: list[dict[str, str]] = []
    loading: bool = True
    field_errors: dict[str, str] = {}
    form_error: str = ""
    inviting: bool = False
    # Shown once, right after an invitation: no email is sent, so the admin passes the link on.
    invite_link: str = ""
    invite_email: str = ""
    invite_form_key: int = 0

    async def _actor_and_brand(self):
        session = await self.get_state(SessionState)
        if not session.allowed("admin") or not session.brand_id:
            return None, 0
        return session.actor(), session.brand_id

    @rx.event
    async def load_members(self):
        self.loading, self.invite_link, self.form_error, self.field_errors = True, "", "", {}
        actor, brand_id = await self._actor_and_brand()
        if actor is None:
            return
        try:
            members = await asyncio.to_thread(list_members, actor, brand_id)
        except DomainError as exc:
            self.members, self.form_error = [], exc.message
        else:
            self.members = _member_rows(members)
        self.loading = False

    @rx.event
    async def invite(self, form: dict):
        email = str(form.get("email", "")).strip()
        role = str(form.get("role", ""))
        self.field_errors = {} if email else {"email": "Enter the person's email address."}
        self.form_error, self.invite_link = "", ""
        actor, brand_id = await self._actor_and_brand()
        if actor is None or self.field_errors:
            return
        self.inviting = True
        yield
        try:
            result = await asyncio.to_thread(invite_member, actor, brand_id, email, role)
        except DomainError as exc:
            self.field_errors, self.form_error = dict(exc.fields), exc.message
            self.inviting = False
            return
        self.inviting = False
        self.invite_email = result.email
        if result.accept_token:
            origin = self.router.url.origin if self.router.url.netloc else ""
            self.invite_link = origin + routes.accept_invite(result.accept_token)
        self.invite_form_key += 1
        yield rx.toast.success(f"{result.email} was added as {ROLE_LABELS[result.role]}.")
        yield AdminMembersState.load_members_keep_link

    @rx.event
    async def load_members_keep_link(self):
        """Reload the list without hiding the invitation link that was just shown."""
        link = self.invite_link
        actor, brand_id = await self._actor_and_brand()
        if actor is None:
            return
        members = await asyncio.to_thread(list_members, actor, brand_id)
        self.members = _member_rows(members)
        self.invite_link = link

    @rx.event
    def dismiss_invite_link(self):
        self.invite_link = ""

    @rx.event
    async def change_role(self, user_id: str, role: str):
        actor, brand_id = await self._actor_and_brand()
        if actor is None or not user_id.isdigit():
            return None
        try:
            member = await asyncio.to_thread(change_member_role, actor, brand_id, int(user_id), role)
        except DomainError as exc:
            return [rx.toast.error(exc.message), AdminMembersState.load_members_keep_link]
        self.members = [
            m | {"role": member.role.value, "role_label": ROLE_LABELS[member.role]} if m["user_id"] == user_id else m
            for m in self.members
        ]
        return rx.toast.success(f"{member.email} is now {ROLE_LABELS[member.role]}.")

    @rx.event
    async def remove(self, user_id: str):
        actor, brand_id = await self._actor_and_brand()
        if actor is None or not user_id.isdigit():
            return None
        try:
            await asyncio.to_thread(remove_member, actor, brand_id, int(user_id))
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.members = [m for m in self.members if m["user_id"] != user_id]
        return rx.toast.success("Member removed.")
