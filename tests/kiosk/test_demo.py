"""`make demo`'s scripted ledger walk-through tells a cashier's story and ends consistent."""
import io

from kiosk.demo import run_ledger_demo


def test_demo_replays_the_reference_scenario(tmp_path):
    out = io.StringIO()
    led = run_ledger_demo(tmp_path, out)
    text = out.getvalue()
    led.close()
    assert "pays 128.50, earns 128 points" in text
    assert "tier is now normal" in text
    assert "costs 190.00 (5% off), earns 190" in text
    assert "the lost card is refused at once" in text
    assert text.strip().endswith("balances equal the journal")
