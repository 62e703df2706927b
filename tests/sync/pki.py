"""The chain's two CAs and certificates for the TLS tests, made by ``kiosk-hq pki`` (sync/hq/pki.py)."""
from __future__ import annotations

from pathlib import Path

from sync.hq import pki


class CA:
    """``path``: the sources' CA (it also signs the broker: every client verifies the broker with
    it), ``crl`` its revocation list; ``hq_path``: head office's CA, the only one head office's
    listener accepts."""

    def __init__(self, folder: Path, chain: str = "Test kiosk chain"):
        self.folder = Path(folder)
        made = pki.init(self.folder, chain=chain)
        self.path, self.hq_path, self.crl = made[pki.SOURCES_CA], made[pki.HQ_CA], made["crl"]

    def issue(self, cn: str, *, server: bool = False) -> dict:
        """Files for one party: {"cert": ..., "key": ..., "ca": ...}; a server gets localhost SANs."""
        files = pki.issue(self.folder, cn, server_names=["localhost", "127.0.0.1"] if server else None)
        return {"cert": files["cert"], "key": files["key"], "ca": files["ca"]}
