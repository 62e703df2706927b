"""Configuration layers and validation, as a technician meets them."""
import pytest

from kiosk import config


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_layers_defaults_system_file_env(tmp_path):
    system = write(tmp_path, "system.toml", '[kiosk]\nid = "k-sys"\nstore_id = "s-sys"\n')
    local = write(tmp_path, "local.toml", '[kiosk]\nid = "k-local"\n[ui]\nidle_timeout_s = 45\n')
    cfg = config.load(local, environ={"KIOSK_DB": "/tmp/x.db"}, system_path=system)
    assert cfg.get("kiosk", "id") == "k-local"
    assert cfg.get("kiosk", "store_id") == "s-sys"
    assert cfg.get("kiosk", "db") == "/tmp/x.db" and cfg.source("kiosk", "db") == "environment KIOSK_DB"
    assert cfg.get("ui", "idle_timeout_s") == 45 and cfg.get("ui", "language") == "zh_CN"


@pytest.mark.parametrize("text, names", [
    ('[kiosk]\nidd = "x"\n', ["idd", "[kiosk]"]),
    ('[kiosc]\nid = "x"\n', ["kiosc"]),
    ('[ui]\nidle_timeout_s = "soon"\n', ["idle_timeout_s"]),
    ('[ui]\nrotation = 45\n', ["rotation"]),
    ('[kiosk]\ntimezone = "Mars/Base"\n', ["timezone"]),
    ('[kiosk]\nid = "has space"\n', ["id"]),
    ('[kiosk\n', ["not valid TOML"]),
])
def test_bad_config_names_the_file_and_key(tmp_path, text, names):
    path = write(tmp_path, "k.toml", text)
    with pytest.raises(config.ConfigError) as err:
        config.load(path, environ={}, system_path=tmp_path / "none")
    assert str(path) in str(err.value) and all(n in str(err.value) for n in names)


def test_secrets_never_shown(tmp_path):
    path = write(tmp_path, "k.toml", '[codes]\nqr_secret = "hunter2hunter2"\n[ui]\nsize = "1280x800"\n')
    cfg = config.load(path, environ={}, system_path=tmp_path / "none")
    assert cfg.get("codes", "qr_secret") == "hunter2hunter2"
    assert "hunter2" not in repr(cfg) and "hunter2" not in str(cfg.redacted())
    bad = write(tmp_path, "bad.toml", '[codes]\nqr_secret = 5\n')
    with pytest.raises(config.ConfigError) as err:
        config.load(bad, environ={}, system_path=tmp_path / "none")
    assert "(secret)" in str(err.value)


def test_environment_is_validated_too(tmp_path):
    with pytest.raises(config.ConfigError, match="KIOSK_ID"):
        config.load(None, environ={"KIOSK_ID": "bad id!"}, system_path=tmp_path / "none")
