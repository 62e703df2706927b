"""Members and cards: register, issue, report lost, replace, close, edit the profile."""
from __future__ import annotations

import re
import uuid

from . import guard, keyed, pii
from .dates import parse_day
from .errors import InvalidInput, NotFound, Refused
from .guard import Spends
from .phones import mask_card, normalise_phone
from .points import PointsService
from .service import Service
from .core import states_inputs

_CARD = re.compile(r"[A-Za-z0-9_:.-]{1,64}")
_MEMBER_ID = re.compile(r"M[0-9A-Z]{1,19}")
_NOTICE = re.compile(r"[A-Za-z0-9._-]{1,32}")


def check_card_id(card_id: str) -> str:
    if not isinstance(card_id, str) or not _CARD.fullmatch(card_id):
        raise InvalidInput(f"card id {card_id!r} must be 1-64 letters, digits or _:.-")
    return card_id


def _profile(name: str | None, phone: str | None, birthday: str | None, region: str) -> dict:
    fields = {}
    if name is not None:
        if not name.strip() or len(name) > 64:
            raise InvalidInput("name must be 1-64 characters")
        fields["name"] = name.strip()
    if phone is not None:
        fields["phone"] = normalise_phone(phone, region)
    if birthday is not None:
        fields["birthday"] = parse_day(birthday, "birthday").isoformat() if birthday else None
    return fields


class MemberService(Service):
    def __init__(self, core, points: PointsService):
        super().__init__(core)
        self.points = points


    def phone_holder(self, phone: str) -> tuple[str, dict | None]:
        """The phone in its stored form and the active member holding it (member_id, card_id), if any.

        The one place a phone is looked up: by its keyed hash (phones are stored encrypted).
        """
        stored = normalise_phone(phone, self.phone_region)
        row = pii.holder_by_phone(self.conn, self.keyring, stored)
        return stored, (dict(zip(("member_id", "card_id"), row)) if row else None)

    def member_by_phone(self, phone: str) -> dict:
        """The active member with this phone: ``{"member_id", "card_id"}``."""
        stored, holder = self.phone_holder(phone)
        if holder is None:
            raise NotFound(f"no active member has phone {phone}", "unknown_phone")
        return holder

    def _phone_free(self, phone: str, member_id: str | None = None) -> None:
        _stored, holder = self.phone_holder(phone)
        if holder and holder["member_id"] != member_id:
            raise Refused(f"phone {phone} is already registered to the member with card"
                          f" {mask_card(holder['card_id'] or '')}", "phone_in_use")

    def _card_free(self, card_id: str) -> None:
        check_card_id(card_id)
        if self.conn.execute("SELECT 1 FROM cards WHERE card_id = ?", (card_id,)).fetchone():
            raise Refused(f"card {card_id} is already issued", "card_in_use")

    def register(self, *, phone: str, card_id: str, name: str | None = None, birthday: str | None = None,
                 referrer_card: str | None = None, member_id: str | None = None, consent: str | None = None,
                 operator: str, at: str | None = None) -> dict:
        """A new member with their first card; the referrer is rewarded on the first purchase.

        The name is optional (stored empty). ``consent`` is the version of the privacy notice the
        member agreed to; the record keeps it in ``data.privacy_notice`` with the record's moment,
        nothing personal. ``member_id`` is for ids head office assigned; by default a new one is made
        (76 random bits, in the form the phone QR code carries).
        """
        if consent is not None and not (isinstance(consent, str) and _NOTICE.fullmatch(consent)):
            raise InvalidInput(f"privacy notice version {consent!r} must be 1-32 letters, digits or ._-")
        profile = {"name": "", **_profile((name or "").strip() or None, phone, birthday, self.phone_region)}
        referrer_id = self.member_for_card(referrer_card)["member_id"] if referrer_card else None
        if member_id is not None and not _MEMBER_ID.fullmatch(member_id):
            raise InvalidInput(f"member id {member_id!r} must be M and 1-19 of 0-9A-Z")
        member_id = member_id or "M" + uuid.uuid4().hex[:19].upper()
        with self.transaction("register", operator=operator, at=at, member_id=member_id,
                              data={"privacy_notice": consent} if consent else None) as t:
            self._card_free(card_id)
            if self.conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone():
                raise Refused(f"member {member_id} already exists", "member_exists")
            self._phone_free(profile["phone"])
            sealed = pii.seal_profile(self.conn, self.keyring, member_id, profile, new=True)
            t.effect("member.add", member_id=member_id, tier=self.rules.tiers[0].id, referrer_id=referrer_id,
                     name=sealed["name"], phone=sealed["phone"], birthday=sealed.get("birthday"))
            t.effect("card.add", card_id=card_id, member_id=member_id)
        return {"tx_id": t.tx_id, "member_id": member_id, "card_id": card_id}

    def edit_profile(self, card_id: str, *, name: str | None = None, phone: str | None = None,
                     birthday: str | None = None, operator: str, at: str | None = None) -> dict:
        fields = _profile(name, phone, birthday, self.phone_region)
        if not fields:
            raise InvalidInput("nothing to change: give --name, --phone or --birthday")
        with self.transaction("profile", operator=operator, at=at, card=card_id) as t:
            if "phone" in fields:
                self._phone_free(fields["phone"], t.member["member_id"])
            t.effect("member.set", member_id=t.member["member_id"],
                     fields=pii.seal_profile(self.conn, self.keyring, t.member["member_id"], fields, new=False))
        return {"tx_id": t.tx_id, "changed": sorted(fields)}

    @states_inputs
    def report_lost(self, card_id: str, *, operator: str, reason: str = "reported lost",
                    at: str | None = None) -> dict:
        """Block the card at once; the balances stay with the member."""
        with self.transaction("card_lost", operator=operator, at=at, card=card_id,
                              reason=reason or "reported lost", data={"card_id": card_id}) as t:
            t.effect("card.set", card_id=card_id, status="lost")
        return {"tx_id": t.tx_id, "card_id": card_id, "status": "lost"}

    @states_inputs
    def replace_card(self, card_id: str, new_card_id: str, *, operator: str, at: str | None = None) -> dict:
        """Bind a new card to the same member; the old one is blocked, balances carry over.

        Only the member's current card (active or lost) can be replaced: a member has one live card.
        """
        with self.transaction("card_replace", operator=operator, at=at, card=card_id, card_active=False,
                              data={"card_id": card_id, "new_card_id": new_card_id}) as t:
            member = t.member
            if member["status"] != "active":
                raise Refused("member account is closed", "member_closed")
            if member["card_status"] not in ("active", "lost"):
                raise Refused(f"card {card_id} is {member['card_status']}, not the member's current card",
                              "card_not_current")
            self._card_free(new_card_id)
            t.effect("card.set", card_id=card_id, status="replaced")
            t.effect("card.add", card_id=new_card_id, member_id=member["member_id"])
        return {"tx_id": t.tx_id, "card_id": new_card_id, "replaces": card_id}

    @states_inputs
    def close_account(self, card_id: str, *, reason: str, operator: str, at: str | None = None) -> dict:
        """Close the member: refund stored-value principal, forfeit bonus, points and packages."""
        reason = self.require_reason(reason, "closing a card")
        member = self.member_for_card(card_id, active=False)
        approval = guard.ask(self.core, member, card_id, Spends(stored_value_fen=max(member["principal_fen"], 0)),
                             operator=operator, kind="close")
        with self.transaction("close", operator=operator, at=at, card=card_id, card_active=False, reason=reason) as t:
            member, member_id = t.member, t.member["member_id"]
            if member["status"] != "active":
                raise Refused("member account is already closed", "member_closed")
            principal, bonus = member["principal_fen"], member["bonus_fen"]
            guard.charge(self.core, t, approval, Spends(stored_value_fen=max(principal, 0)))  # paid out in cash
            if principal or bonus:
                t.effect("sv", member_id=member_id, principal=-principal, bonus=-bonus)
            day = t.local.date().isoformat()
            points = self.points.available_points(member_id, day)
            if points:
                self.points.draw(t, member_id, points, "forfeit")
            for package_id, remaining in self.conn.execute(
                    "SELECT package_id, remaining FROM packages WHERE member_id = ? AND remaining > 0",
                    (member_id,)).fetchall():
                t.effect("package.take", package_id=package_id, uses=remaining, status="forfeited")
            for (cid,) in self.conn.execute(keyed.ACTIVE_CARDS, (member_id,)).fetchall():
                t.effect("card.set", card_id=cid, status="closed")
            t.effect("member.set", member_id=member_id, fields={"status": "closed"})
            t.record["data"].update(refund_principal_fen=principal, forfeit_bonus_fen=bonus, forfeit_points=points)
        return {"tx_id": t.tx_id, "refund_principal_fen": principal, "forfeit_bonus_fen": bonus,
                "forfeit_points": points}

    def erase_member(self, card_id: str, *, reason: str, operator: str, at: str | None = None) -> dict:
        """Erase the member's personal data (PIPL): their data key is destroyed here, and everywhere the
        journaled erasure reaches through head office. Balances, cards and history stay as they are."""
        reason = self.require_reason(reason, "erasing a member's personal data")
        with self.transaction("erase", operator=operator, at=at, card=card_id, card_active=False,
                              reason=reason) as t:
            if t.member["erased"]:
                raise Refused("the member's personal data is already erased", "already_erased")
            t.effect("member.erase", member_id=t.member["member_id"])
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")    # the old key's pages leave the WAL too
        return {"tx_id": t.tx_id, "member_id": t.member["member_id"], "erased": True}

    def accept_keys(self, keys: dict) -> list[str]:
        """Member data keys that came with records from head office; returns the ones refused."""
        with self._joined_write():
            return pii.accept_keys(self.conn, self.keyring, keys)

    def member_id_for(self, card_id: str) -> str:
        row = self.conn.execute("SELECT member_id FROM cards WHERE card_id = ?", (card_id,)).fetchone()
        if row is None:
            raise NotFound(f"card {card_id} is not known", "unknown_card")
        return row[0]

    def card_for_member(self, member_id: str) -> str | None:
        """The member's active card (a phone QR code names the member, not a card)."""
        row = self.conn.execute("SELECT card_id FROM cards WHERE member_id = ? ORDER BY status = 'active' DESC,"
                                " issued_at DESC LIMIT 1", (member_id,)).fetchone()
        return row[0] if row else None
