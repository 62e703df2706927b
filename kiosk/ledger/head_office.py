"""What a kiosk's ledger keeps for and from head office: the outbox it sends, the confirmations it
gets back, and the data head office owns (rules, staff credentials, the block list).

The sync agent calls these methods and never the tables. Each one joins the caller's write
transaction when there is one (the agent commits the data together with the version it applied).

DESIGN rule 7: the kiosk shows head office's last confirmed balance plus its own not-yet-confirmed
transactions (:meth:`HeadOfficeOps.shown_balance`).
"""
from __future__ import annotations

import json

from . import guard, journal
from .service import Service

BALANCE_FIELDS = ("member_id", "as_of", "points", "points_debt", "principal_fen", "bonus_fen", "tier", "status")


class HeadOfficeService(Service):

    # -- the outbox ----------------------------------------------------------------------------
    def unsent(self, from_seq: int = 1, limit: int = -1) -> list[tuple[int, dict]]:
        """This kiosk's records head office has not confirmed, from ``from_seq`` on: (seq, record)."""
        return journal.unsent(self.conn, from_seq, limit)

    def outbox_backlog(self) -> int:
        return journal.backlog(self.conn)

    def confirm(self, hwm: int, balances: list[dict] = ()) -> int:
        """Head office has this kiosk's records up to ``hwm`` and reports these members' balances as of
        then. Returns the confirmed mark (never past what this kiosk sent)."""
        with self._joined_write():
            hwm = journal.confirm(self.conn, hwm, self.now_text())
            self.keep_balances(balances)
        return hwm

    def keep_balances(self, balances: list[dict]) -> None:
        """Head office's balances of these members (a confirmation's, or a card look-up's); an older
        one never replaces a newer one."""
        now = self.now_text()
        with self._joined_write():
            for b in balances:
                self.conn.execute(
                    f"INSERT INTO confirmed_balances ({', '.join(BALANCE_FIELDS)}, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (member_id) DO UPDATE SET as_of = excluded.as_of, points = excluded.points,"
                    " points_debt = excluded.points_debt, principal_fen = excluded.principal_fen,"
                    " bonus_fen = excluded.bonus_fen, tier = excluded.tier, status = excluded.status,"
                    " received_at = excluded.received_at WHERE excluded.as_of >= confirmed_balances.as_of",
                    (*(b[f] for f in BALANCE_FIELDS), now))

    def confirmed_balance(self, member_id: str) -> dict | None:
        """Head office's last confirmed balance of a member, or None before its first."""
        row = self.conn.execute(f"SELECT {', '.join(BALANCE_FIELDS)} FROM confirmed_balances WHERE member_id = ?",
                                (member_id,)).fetchone()
        return dict(zip(BALANCE_FIELDS, row)) if row else None

    def shown_balance(self, member_id: str) -> dict | None:
        """Head office's last confirmed balance plus this kiosk's own not-yet-confirmed transactions
        (None before head office confirmed any balance of the member: show the local one)."""
        base = self.confirmed_balance(member_id)
        if base is None:
            return None
        points, fen = base["points"], base["principal_fen"] + base["bonus_fen"]
        for _, record in journal.unsent(self.conn, member_id=member_id):
            change = journal.summarise(record, member_id)
            points, fen = points + change["points"], fen + change["stored_value_fen"]
        return {"member_id": member_id, "points": points, "stored_value_fen": fen, "as_of": base["as_of"]}

    # -- what the sync agent tells the spend guard (kiosk/ledger/guard.py) -----------------------
    def heard_from_head_office(self, at: str | None = None) -> None:
        """Head office answered just now: the offline window counts from here."""
        with self._joined_write():
            guard.record_contact(self.conn, self.moment(at))

    def set_offline_limits(self, limits: dict) -> None:
        """Keep the offline limits head office pushed (checked; refused with InvalidInput when malformed)."""
        with self._joined_write():
            guard.store_limits(self.conn, limits)

    def offline_limits(self) -> dict | None:
        """The offline limits in force (None: a standalone ledger, which has none)."""
        return guard.offline_limits(self.conn)

    def head_office_contact(self) -> str | None:
        """When head office was last heard from (UTC), or None."""
        return guard.last_contact(self.conn)

    # -- data head office owns -----------------------------------------------------------------
    def set_rules(self, text: str) -> str:
        """Install head office's rules (refused with RulesError when they do not load); returns their digest."""
        return self.core.install_rules(text).digest

    def replace_staff(self, staff: list[dict]) -> None:
        """Head office's staff list replaces this kiosk's (credentials only: the PIN hash, never a PIN).
        A staff member's failed attempts and lockout stay while they remain on the list."""
        keep = json.dumps([s["staff_id"] for s in staff])
        with self._joined_write():
            self.conn.execute("DELETE FROM staff WHERE staff_id NOT IN (SELECT value FROM json_each(?))", (keep,))
            self.conn.executemany(
                "INSERT INTO staff (staff_id, name, role, card_id, pin_hash) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name, role = excluded.role,"
                " card_id = excluded.card_id, pin_hash = excluded.pin_hash",
                [(s["staff_id"], s["name"], s["role"], s["card_id"], s["pin_hash"]) for s in staff])

    def replace_block_list(self, cards: list[dict]) -> None:
        """Head office's block list (card_id, reason) replaces this kiosk's; each block counts from now."""
        now = self.now_text()
        with self._joined_write():
            self.conn.execute("DELETE FROM blocklist")
            self.conn.executemany("INSERT INTO blocklist (card_id, reason, since) VALUES (?, ?, ?)",
                                  [(c["card_id"], c["reason"], now) for c in cards])
