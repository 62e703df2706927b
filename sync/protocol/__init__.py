"""The wire protocol both ends share: topics, envelopes and their schemas, signatures."""
from . import topics
from .envelope import SIGNED, Codec, Dropped, check
from .signing import Signer, Verifier, generate

__all__ = ["topics", "Codec", "Dropped", "SIGNED", "check", "Signer", "Verifier", "generate"]
