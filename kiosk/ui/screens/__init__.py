"""One thin Screen class and one ``.kv`` file per screen; :data:`SCREENS` names them for the manager."""
from __future__ import annotations

from pathlib import Path

from .attract import AttractScreen
from .card import CardScreen
from .gifts import GiftsScreen
from .member import MemberScreen
from .packages import PackagesScreen
from .pin import PinScreen
from .points import PointsScreen
from .purchase import PurchaseScreen
from .refund import RefundScreen
from .register import RegisterScreen
from .staff import StaffScreen
from .summary import SummaryScreen
from .topup import TopupScreen

SCREENS = {"attract": AttractScreen, "member": MemberScreen, "gifts": GiftsScreen, "pin": PinScreen,
           "staff": StaffScreen, "purchase": PurchaseScreen, "topup": TopupScreen, "refund": RefundScreen,
           "packages": PackagesScreen, "register": RegisterScreen, "card": CardScreen, "summary": SummaryScreen,
           "points": PointsScreen}


def kv_files() -> list[Path]:
    here = Path(__file__).parent
    return [here / f"{name}.kv" for name in SCREENS]
