"""Brand members: the list with role and pending invitations, invite by email (the link is mailed to the invitee,
never shown here), resend or withdraw an invitation, change role, remove (after confirmation).

The same state serves the KYC surface's team page (`load_kyc_team`): the platform's KYC reviewers, managed by
platform admins, with the same services and `brand_id` None."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.auth.acl import BRAND_ROLES
from backend.brands.service import (
    PLATFORM_TEAM,
    MemberView,
    change_member_role,
    invite_member,
    list_members,
    remove_member,
    resend_invitation,
)
from backend.errors import DomainError
from backend.notifications.service import dev_mailbox_url
from primsell.state.session import ROLE_LABELS, SessionState, current_actor, current_brand

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
    # "Invitation sent to x": the link went to their mailbox; this page never sees it.
    sent_to: str = ""
    mailbox_url: str = ""  # development only: where that email can be read
    invite_form_key: int = 0
    resending: str = ""  # the user id whose invitation is being sent again
    _platform_team: bool = False  # the KYC team page: the platform's reviewers, not the chosen brand's members

    async def _scope(self):  # type: ignore[no-untyped-def]
        """(actor as it is now, brand id or PLATFORM_TEAM, whether there is a team to act on). The services check
        the actor's permission on that team again."""
        actor = await current_actor(self)
        if actor is None:
            return None, 0, False
        if self._platform_team:
            return actor, PLATFORM_TEAM, True
        brand_id = await current_brand(self)
        return actor, brand_id, bool(brand_id)

    async def _read(self, actor, brand_id: int | None) -> None:  # type: ignore[no-untyped-def]
        try:
            members = await asyncio.to_thread(list_members, actor, brand_id)
        except DomainError as exc:
            self.members, self.form_error = [], exc.message
        else:
            self.members = _member_rows(members)
        self.loading = False

    @rx.event
    async def load_members(self):
        return await self._load(platform_team=False)

    @rx.event
    async def load_kyc_team(self):
        return await self._load(platform_team=True)

    async def _load(self, *, platform_team: bool):  # type: ignore[no-untyped-def]
        self.loading, self.sent_to, self.form_error, self.field_errors = True, "", "", {}
        self.members, self._platform_team = [], platform_team
        actor, brand_id, ok = await self._scope()
        if actor is None:
            return SessionState.to_sign_in
        if ok:
            await self._read(actor, brand_id)
        else:  # no brand chosen (a platform admin before picking one): the page says so instead of loading
            self.loading = False
        return None

    @rx.event
    async def invite(self, form: dict):
        email = str(form.get("email", "")).strip()
        role = str(form.get("role", ""))
        self.field_errors = {} if email else {"email": "Enter the person's email address."}
        self.form_error, self.sent_to = "", ""
        if self.field_errors:
            return
        actor, brand_id, ok = await self._scope()
        if not ok:  # signed out (sent to sign in), or no brand chosen
            yield SessionState.to_sign_in
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
        self.sent_to = result.email
        self.mailbox_url = await asyncio.to_thread(dev_mailbox_url)
        self.invite_form_key += 1
        await self._read(actor, brand_id)
        yield rx.toast.success(f"Invitation sent to {result.email} ({ROLE_LABELS[result.role]}).")

    @rx.event
    async def resend(self, user_id: str):
        """Mail a pending invitee a new link (the earlier ones stop working)."""
        if not user_id.isdigit() or self.resending:
            return
        actor, brand_id, ok = await self._scope()
        if not ok:  # signed out (sent to sign in), or no brand chosen
            yield SessionState.to_sign_in
            return
        self.resending = user_id
        yield
        try:
            result = await asyncio.to_thread(resend_invitation, actor, brand_id, int(user_id))
        except DomainError as exc:
            self.resending = ""
            yield rx.toast.error(exc.message)
            return
        self.resending = ""
        self.sent_to = result.email
        self.mailbox_url = await asyncio.to_thread(dev_mailbox_url)
        yield rx.toast.success(f"Invitation sent to {result.email} again.")

    @rx.event
    def dismiss_sent(self):
        self.sent_to = ""

    @rx.event
    async def change_role(self, user_id: str, role: str):
        actor, brand_id, ok = await self._scope()
        if actor is None:
            return SessionState.to_sign_in
        if not user_id.isdigit() or not ok:
            return None
        try:
            member = await asyncio.to_thread(change_member_role, actor, brand_id, int(user_id), role)
        except DomainError as exc:
            await self._read(actor, brand_id)  # the select shows the role the member really has
            return rx.toast.error(exc.message)
        self.members = [
            m | {"role": member.role.value, "role_label": ROLE_LABELS[member.role]} if m["user_id"] == user_id else m
            for m in self.members
        ]
        if member.user_id == actor.user_id:
            # Changing one's own role signs one out everywhere (like anyone whose role changes).
            return SessionState.to_sign_in if await current_actor(self) is None else None
        return rx.toast.success(f"{member.email} is now {ROLE_LABELS[member.role]}.")

    @rx.event
    async def remove(self, user_id: str):
        """Remove a member (they are signed out everywhere) or withdraw a pending invitation (its link dies)."""
        actor, brand_id, ok = await self._scope()
        if actor is None:
            return SessionState.to_sign_in
        if not user_id.isdigit() or not ok:
            return None
        pending = any(m["user_id"] == user_id and m["pending"] for m in self.members)
        try:
            await asyncio.to_thread(remove_member, actor, brand_id, int(user_id))
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.members = [m for m in self.members if m["user_id"] != user_id]
        if int(user_id) == actor.user_id:
            return SessionState.to_sign_in if await current_actor(self) is None else None
        return rx.toast.success("Invitation withdrawn." if pending else "Member removed.")
