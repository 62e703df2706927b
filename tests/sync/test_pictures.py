"""Gift pictures: head office publishes each one signed and retained on its SKU's topic, a kiosk checks
and caches it beside its ledger, and nothing forged, unsigned, oversized, malformed or replayed
replaces the picture the kiosk holds."""
from __future__ import annotations

import base64
import io
import json
import logging
import struct
import zlib

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.demo_data import DEMO_PICTURES
from kiosk.ledger import REFERENCE_RULES, pictures
from sync.hq.cli import main as kiosk_hq
from sync.hq.db import Db
from sync.hq.retained import Retained
from sync.protocol import Codec, Signer, generate, topics

from .conftest import wait_for

PNG = str(DEMO_PICTURES / "coffee-beans.png")


def png_bytes() -> bytes:
    with open(PNG, "rb") as f:
        return f.read()


def jpeg_bytes(side: int = 40) -> bytes:
    image = pytest.importorskip("PIL.Image")
    out = io.BytesIO()
    image.new("RGB", (side, side), (180, 90, 30)).save(out, "JPEG", progressive=True)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int, raw: bytes) -> bytes:
    """An RGB PNG whose header says ``width`` x ``height`` around whatever image data ``raw`` is."""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def test_pictures_are_checked_by_content():
    assert pictures.sniff(png_bytes()) == "png"
    assert pictures.sniff(jpeg_bytes()) == "jpeg"
    assert pictures.sniff(png_claiming(10, 10, b"\x00" * 310)) == "png"
    good = png_bytes()
    bad = {"a web page named .png": (b"<html><script>", "not a PNG or JPEG"),
           "a truncated PNG": (good[:-20], "truncated"),
           "a flipped bit": (good[:100] + bytes([good[100] ^ 1]) + good[101:], "bad CRC"),
           "a decompression bomb": (png_claiming(10, 10, b"\x00" * 50_000_000), "not the 310 its header says"),
           "a 5000-pixel side": (png_claiming(5000, 1, b""), "each side must be 1 to 4096"),
           "a JPEG cut short": (jpeg_bytes()[:-100], "does not end with EOI"),
           "too large": (good + b"\x00" * pictures.MAX_BYTES, "larger than the 262144 bytes")}
    for name, (data, reason) in bad.items():
        with pytest.raises(pictures.BadPicture, match=reason):
            pictures.sniff(data)


@pytest.fixture
def hq_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    db = Db(url)
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    db.close()
    return url


def test_kiosk_hq_picture_publishes_only_a_real_picture_of_a_known_gift(tmp_path, hq_db, capsys):
    (tmp_path / "mug.jpg").write_bytes(jpeg_bytes())
    assert kiosk_hq(["picture", "--db", hq_db, "GIFT-MUG", str(tmp_path / "mug.jpg")]) == 0
    assert json.loads(capsys.readouterr().out) == {"sku": "GIFT-MUG", "format": "jpeg",
                                                   "bytes": len(jpeg_bytes()), "version": 1}
    (tmp_path / "fake.png").write_text("<svg onload=alert(1)>")
    (tmp_path / "huge.png").write_bytes(png_bytes() + b"\x00" * pictures.MAX_BYTES)
    for args, says in ((["GIFT-MUG", str(tmp_path / "fake.png")], "fake.png: not a PNG or JPEG picture"),
                       (["GIFT-MUG", str(tmp_path / "huge.png")], "huge.png: larger than the 262144 bytes"),
                       (["GIFT-NONE", PNG], "gift GIFT-NONE is not in the catalogue of the published rules"),
                       (["GIFT-MUG", str(tmp_path / "missing.png")], "missing.png: No such file")):
        assert kiosk_hq(["picture", "--db", hq_db, *args]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith("kiosk-hq: ") and says in captured.err
        assert captured.err.count("\n") == 1                    # one line, no traceback
    db = Db(hq_db)
    assert Retained(db).versions()["picture/GIFT-MUG"] == 1     # nothing bad was published
    db.close()


def test_a_published_picture_is_cached_and_nothing_forged_replaces_it(tmp_path, broker, hq_db, hq_keys, start_hub,
                                                                      make_kiosk, start_agent, caplog):
    caplog.set_level(logging.INFO, logger="sync")
    k = make_kiosk("k1")
    start_hub(broker.url, hq_db)
    start_agent(k, broker.url)
    assert kiosk_hq(["picture", "--db", hq_db, "GIFT-MUG", PNG]) == 0
    first = wait_for(lambda: pictures.cached(k.path).get("GIFT-MUG"), what="the picture cached at the kiosk")
    assert first.endswith("gift-pictures-hq/GIFT-MUG.v1.png") and open(first, "rb").read() == png_bytes()

    generate(tmp_path / "evil.pem", tmp_path / "evil.pub")
    hq = Codec("hq-1", "hq", signer=Signer.load(hq_keys["private"]))
    forger = Codec("hq-1", "hq", signer=Signer.load(tmp_path / "evil.pem"))
    unsigned = json.loads(forger.pack("picture", {"version": 9, "sku": "GIFT-MUG", "format": "png",
                                                  "data": base64.b64encode(b"<html>").decode()}))
    del unsigned["sig"]
    evil = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="mallory", protocol=mqtt.MQTTv5)
    evil.connect("127.0.0.1", broker.port)
    evil.loop_start()
    picture = {"sku": "GIFT-MUG", "format": "png"}
    attempts = {
        "unsigned": json.dumps(unsigned).encode(),
        "bad signature": forger.pack("picture", {**picture, "version": 9, "data": base64.b64encode(jpeg_bytes()).decode()}),
        "must be shorter than or equal to 349528": hq.pack("picture", {**picture, "version": 9, "data": "A" * 400_000}),
        "refused picture of GIFT-MUG version 9: not a PNG or JPEG": hq.pack(
            "picture", {**picture, "version": 9, "data": base64.b64encode(b"<svg onload=alert(1)>").decode()}),
    }
    for reason, payload in attempts.items():
        evil.publish(topics.picture("GIFT-MUG"), payload, qos=1, retain=True).wait_for_publish(5)
        wait_for(lambda: any(reason in r.getMessage() for r in caplog.records), what=f"refused: {reason}")
    assert pictures.cached(k.path) == {"GIFT-MUG": first} and open(first, "rb").read() == png_bytes()

    # a new version replaces the old one; the older one replayed afterwards is refused and logged
    (tmp_path / "mug.jpg").write_bytes(jpeg_bytes(64))
    assert kiosk_hq(["picture", "--db", hq_db, "GIFT-MUG", str(tmp_path / "mug.jpg")]) == 0
    second = wait_for(lambda: pictures.cached(k.path).get("GIFT-MUG", "").endswith(".v2.jpg")
                      and pictures.cached(k.path)["GIFT-MUG"], what="version 2 cached")
    assert open(second, "rb").read() == jpeg_bytes(64)
    assert sorted(p.name for p in pictures.cache_folder(k.path).iterdir()) == ["GIFT-MUG.v2.jpg"]
    replay = hq.pack("picture", {**picture, "version": 1, "data": base64.b64encode(png_bytes()).decode()})
    evil.publish(topics.picture("GIFT-MUG"), replay, qos=1).wait_for_publish(5)
    wait_for(lambda: any("refused picture/GIFT-MUG version 1: older than the version 2" in r.getMessage()
                         for r in caplog.records), what="the replay refused")
    assert pictures.cached(k.path) == {"GIFT-MUG": second}
    evil.loop_stop()
    evil.disconnect()
