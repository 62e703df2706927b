"""Points at the counter: into stored value, or to another member; the points typed and what they make."""
from .base import KioskScreen


class PointsScreen(KioskScreen):
    pass
