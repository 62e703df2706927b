"""``kiosk-hq pki``: the chain's certificates, made with ``cryptography``.

Two CAs, because the broker has two listeners (broker/mosquitto.conf): the *sources' CA* signs
the broker's server certificate and every source's client certificate (CN = the source id, or
``<id>.ui`` for its UI); *head office's CA* signs the hubs, ``kiosk-hq ops`` and the gateway
(CN = hq-1, hq-2, hq-ops, gateway), and only its certificates are accepted on head office's
listener. So a kiosk's certificate can never connect where the hubs' shared subscriptions live.
Private keys are written mode 0600 and never overwritten.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.ledger.clock import Clock, from_env

from ..protocol import topics

SOURCES_CA, HQ_CA = "sources-ca", "hq-ca"
HQ_NAMES = ("hq", "ops", "gateway")      # CNs (and CN prefixes: hq-1, ops-...) signed by head office's CA
CA_DAYS, LEAF_DAYS = 3650, 825


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)   # never replace an existing key
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _save(folder: Path, stem: str, key, cert) -> None:
    _write_new(folder / f"{stem}.key", key.private_bytes(serialization.Encoding.PEM,
               serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)
    _write_new(folder / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _builder(cn: str, issuer: x509.Name, public_key, days: int, clock: Clock) -> x509.CertificateBuilder:
    now = clock.now()
    return (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days)))


def init(folder: Path, *, chain: str = "Kiosk chain", clock: Clock | None = None) -> dict:
    """Make both CAs in ``folder`` (refused if either exists)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for stem in (SOURCES_CA, HQ_CA):
        if (folder / f"{stem}.key").exists() or (folder / f"{stem}.crt").exists():
            raise ValueError(f"{folder / stem}.key or .crt exists already: a CA is made once")
    made = {}
    for stem, title in ((SOURCES_CA, "sources CA"), (HQ_CA, "head office CA")):
        key = ec.generate_private_key(ec.SECP256R1())
        name = f"{chain} {title}"
        cert = (_builder(name, _name(name), key.public_key(), CA_DAYS, clock or from_env())
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        _save(folder, stem, key, cert)
        made[stem] = str(folder / f"{stem}.crt")
    made["crl"] = _write_crl(folder, [], clock or from_env())
    return made


def _sources_ca(folder: Path):
    try:
        key = serialization.load_pem_private_key((folder / f"{SOURCES_CA}.key").read_bytes(), None)
        return key, x509.load_pem_x509_certificate((folder / f"{SOURCES_CA}.crt").read_bytes())
    except FileNotFoundError:
        raise ValueError(f"no {SOURCES_CA}.key/.crt in {folder}: run kiosk-hq pki init first") from None


def _write_crl(folder: Path, revoked: list[x509.RevokedCertificate], clock: Clock) -> str:
    """The sources' CA's revocation list (the broker's ``crlfile``): OpenSSL refuses every client of
    a CA whose list is missing or out of date, so it is made with the CAs and valid as long as they."""
    key, ca = _sources_ca(folder)
    now = clock.now()
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
               .last_update(now - datetime.timedelta(days=1)).next_update(now + datetime.timedelta(days=CA_DAYS)))
    for entry in revoked:
        builder = builder.add_revoked_certificate(entry)
    path = folder / f"{SOURCES_CA}.crl"
    staged = path.with_suffix(".crl.new")
    staged.write_bytes(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    staged.replace(path)
    return str(path)


def revoke(folder: Path, cn: str, *, clock: Clock | None = None) -> dict:
    """Put the certificate ``<cn>.crt`` on the sources' CA's revocation list (a retired or stolen
    kiosk): the broker refuses it once it has the new list (docs/sync.md)."""
    folder, clock = Path(folder), clock or from_env()
    try:
        cert = x509.load_pem_x509_certificate((folder / f"{cn}.crt").read_bytes())
    except FileNotFoundError:
        raise ValueError(f"no {cn}.crt in {folder}: only certificates issued there can be revoked") from None
    _, ca = _sources_ca(folder)
    if cert.issuer != ca.subject:
        raise ValueError(f"{cn}.crt was not issued by the sources' CA")
    crl = x509.load_pem_x509_crl((folder / f"{SOURCES_CA}.crl").read_bytes())
    revoked = list(crl)
    if any(r.serial_number == cert.serial_number for r in revoked):
        raise ValueError(f"{cn}.crt is already revoked")
    revoked.append(x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                   .revocation_date(clock.now()).build())
    return {"cn": cn, "serial": format(cert.serial_number, "x"), "crl": _write_crl(folder, revoked, clock),
            "revoked": len(revoked)}


def signer_for(cn: str, server: bool) -> str:
    """Which CA signs ``cn``: head office's for its own identities, the sources' CA for a source,
    its UI and the broker. Anything else is refused (a typo must not become a certificate)."""
    if server:
        return SOURCES_CA
    if any(cn == n or cn.startswith(f"{n}-") for n in HQ_NAMES):
        return HQ_CA
    if not topics.is_identity(cn):
        raise ValueError(f"{cn!r} is neither a source id, <source id>.ui, nor a head-office name"
                         f" ({', '.join(HQ_NAMES)}, hq-1, ...)")
    return SOURCES_CA


def issue(folder: Path, cn: str, *, server_names: list[str] | None = None, days: int = LEAF_DAYS,
          clock: Clock | None = None) -> dict:
    """A key and certificate ``<cn>.key`` / ``<cn>.crt`` in ``folder`` signed by the right CA;
    ``server_names`` (host names or IP addresses) makes it the broker's server certificate."""
    folder = Path(folder)
    ca_stem = signer_for(cn, bool(server_names))
    try:
        ca_key = serialization.load_pem_private_key((folder / f"{ca_stem}.key").read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate((folder / f"{ca_stem}.crt").read_bytes())
    except FileNotFoundError:
        raise ValueError(f"no {ca_stem}.key/.crt in {folder}: run kiosk-hq pki init first") from None
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (_builder(cn, ca_cert.subject, key.public_key(), days, clock or from_env())
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if server_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([_san(n) for n in server_names]), critical=False)
    if (folder / f"{cn}.key").exists() or (folder / f"{cn}.crt").exists():
        raise ValueError(f"{folder / cn}.key or .crt exists already: remove it first to re-issue")
    _save(folder, cn, key, builder.sign(ca_key, hashes.SHA256()))
    return {"cn": cn, "cert": str(folder / f"{cn}.crt"), "key": str(folder / f"{cn}.key"),
            "signed_by": str(folder / f"{ca_stem}.crt"), "ca": str(folder / f"{SOURCES_CA}.crt")}


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def add_parsers(sub) -> None:
    """``kiosk-hq pki init`` and ``kiosk-hq pki issue`` (hooked into sync/hq/cli.py)."""
    pki = sub.add_parser("pki", help="make the chain's CAs and certificates (broker, hubs, kiosks)")
    verbs = pki.add_subparsers(dest="pki_command", required=True)
    make = verbs.add_parser("init", help="make the sources' CA and head office's CA")
    make.add_argument("--out", required=True, help="folder for the CAs (keep the .key files offline)")
    make.add_argument("--chain", default="Kiosk chain", help="the chain's name in the CAs' names")
    one = verbs.add_parser("issue", help="a certificate for a source (k0101, k0101.ui), a hub (hq-1) or the broker")
    one.add_argument("--out", required=True, help="the folder with the CAs; the key and certificate go there")
    one.add_argument("cn", help="the certificate's CN: the MQTT user name and client id")
    one.add_argument("--server", action="append", metavar="HOST",
                     help="the broker's host name or address (repeat for several): a server certificate")
    one.add_argument("--days", type=int, default=LEAF_DAYS)
    gone = verbs.add_parser("revoke", help="revoke a source's certificate (writes sources-ca.crl for the broker)")
    gone.add_argument("--out", required=True, help="the folder with the CAs and the certificate")
    gone.add_argument("cn")


def run(args) -> dict:
    if args.pki_command == "init":
        return init(Path(args.out), chain=args.chain)
    if args.pki_command == "revoke":
        return revoke(Path(args.out), args.cn)
    if args.days < 1:
        raise ValueError("--days must be at least 1")
    return issue(Path(args.out), args.cn, server_names=args.server, days=args.days)
