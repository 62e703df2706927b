"""Child process for test_crash: runs transactions until killed, printing each committed tx_id."""
import random
import sys

from kiosk.ledger import Ledger, LedgerError, lines_from_amount

db, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
led = Ledger.create(db, kiosk_id="k1", store_id="s1")
cards = [f"C{i}" for i in range(5)]
for i, card in enumerate(cards):
    try:
        led.register(name=f"M{i}", phone=f"1380000000{i}", card_id=card, operator="admin")
    except LedgerError:
        pass
while True:
    card = rng.choice(cards)
    op = rng.random()
    try:
        if op < 0.5:
            result = led.purchase(card, lines_from_amount(rng.randint(100, 200_000)), operator="admin",
                                  pay=rng.choice(["external", "stored-value"]))
        elif op < 0.7:
            result = led.topup(card, rng.randint(100, 100_000), operator="admin")
        elif op < 0.8:
            result = led.redeem(card, "GIFT-MUG", operator="admin")
        elif op < 0.9:
            result = led.adjust(card, rng.randint(-500, 500) or 1, reason="test", operator="admin")
        else:
            result = led.issue_coupon(card, "V20", operator="admin")
    except LedgerError:
        continue
    print(result["tx_id"], flush=True)
