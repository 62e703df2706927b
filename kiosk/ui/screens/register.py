"""Register a member, then tap a blank card to issue it."""
from .base import KioskScreen


class RegisterScreen(KioskScreen):
    def on_data(self, _screen, data: dict) -> None:
        """The text fields follow the flow's copy of the form (emptied when a visit ends)."""
        for field in (self.ids.name, self.ids.phone, self.ids.birthday):
            value = data.get(field.field, "")
            if field.text != value:
                field.text = value
