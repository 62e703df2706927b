"""One permissions table: what the staff home greys out is exactly what the ledger refuses."""
import pytest

from kiosk.ledger import Ledger, Refused, permissions
from kiosk.ui.staff_presenter import ACTIONS, allowed


@pytest.fixture(scope="module")
def led(tmp_path_factory):
    with Ledger.create(tmp_path_factory.mktemp("perm") / "k.db") as led:
        for role in permissions.STAFF_ROLES:
            led.conn.execute("INSERT INTO staff (staff_id, name, role, pin_hash) VALUES (?, ?, ?, 'x')",
                             (role, role, role))
        yield led


@pytest.mark.parametrize("role", permissions.STAFF_ROLES)
@pytest.mark.parametrize("button", sorted(ACTIONS))
def test_a_button_is_enabled_exactly_when_the_ledger_allows_its_action(led, role, button):
    if allowed(role, button):
        led.require_role(role, ACTIONS[button])
    else:
        with pytest.raises(Refused) as refused:
            led.require_role(role, ACTIONS[button])
        assert refused.value.code == "forbidden"


def test_the_administrator_may_do_everything_and_nobody_only_what_needs_no_identity():
    for action, roles in permissions.PERMISSIONS.items():
        assert permissions.allowed(permissions.ADMIN, action)
        assert permissions.allowed(None, action) == (permissions.EVERYONE in roles)


def test_a_member_acting_for_themselves_may_only_do_member_actions(led):
    led.require_role(permissions.SELF, "checkin")
    with pytest.raises(Refused, match="staff sign-in needed"):
        led.require_role(permissions.SELF, "purchase")
    with pytest.raises(Refused) as unknown:
        led.require_role("ghost", "purchase")
    assert unknown.value.code == "unknown_operator"
