"""No traceback reaches a user of kioskctl or kiosk-hq: one line on stderr, the documented exit code."""
import json
import os
import subprocess
import sys

import pytest

from kiosk import config



def env():
    """This process's environment (the pinned clock included) without the config variables (KIOSK_ID...)."""
    return {k: v for k, v in os.environ.items() if k not in config.ENVIRONMENT}


def run(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env(),
                          input="1234\n")        # a PIN, for the commands that read one


def one_line_error(proc, status=2):
    assert proc.returncode == status, proc
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("args", [
    ("limits", "--db", "sqlite:///{tmp}/hq.db", '{"window_hours":24}'),
    ("limits", "--db", "sqlite:///{tmp}/hq.db", "{bad json"),
    ("rules", "--db", "sqlite:///{tmp}/hq.db", "/etc/passwd"),
    ("rules", "--db", "sqlite:///{tmp}/hq.db", "{tmp}/missing.toml"),
    ("gaps", "--db", "{tmp}/hq.db"),
    ("staff", "--db", "sqlite:///{tmp}/hq.db", "s1", "Ann", "boss", "--pin-stdin"),
    ("no-such-command",),
], ids=["partial-limits", "bad-json", "bad-rules", "missing-file", "plain-path", "bad-role", "bad-command"])
def test_kiosk_hq_input_errors_are_one_line(tmp_path, args):
    proc = run("sync.hq", *(a.replace("{tmp}", str(tmp_path)) for a in args))
    one_line_error(proc)


def test_kioskctl_usage_errors_under_json_are_json(tmp_path):
    for args in (("show",), ("tx", "earn", "--card", "C1", "--amount", "1e3"), ("frobnicate",)):
        proc = run("kiosk.cli", "--db", str(tmp_path / "k.db"), "--json", *args)
        one_line_error(proc)
        body = json.loads(proc.stdout)
        assert body["code"] == "usage" and body["error"]


@pytest.mark.parametrize("command", [("kiosk.cli", "--db", "{tmp}/k.db", "journal"),
                                     ("kiosk.cli", "config", "show"),
                                     ("sync.hq", "alerts", "--db", "sqlite:///{tmp}/hq.db")])
def test_output_into_a_closed_pipe_is_no_traceback(tmp_path, command):
    """`kioskctl journal | head -1`: the reader goes away; the writer ends quietly with 141 (as SIGPIPE)."""
    run("kiosk.cli", "--db", str(tmp_path / "k.db"), "init")
    module, *args = command
    read, write = os.pipe()
    os.close(read)                       # the reader is gone before anything is written
    proc = subprocess.run([sys.executable, "-m", module, *(a.replace("{tmp}", str(tmp_path)) for a in args)],
                          stdout=write, stderr=subprocess.PIPE, text=True, env=env())
    os.close(write)
    assert proc.returncode == 141 and proc.stderr == "", proc.stderr
