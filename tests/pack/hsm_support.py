"""A SoftHSM2 token (Debian ``softhsm2``) holding the test PKI's signer key and certificate.

SoftHSM reads its configuration from ``$SOFTHSM2_CONF`` when the library is first loaded,
so the session fixture sets it before anything opens the library, and the token lives in
a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pki_support import Issued

PIN = "314159"
SO_PIN = "27182818"
TOKEN = "assay-test"
KEY_LABEL = "pack-signer"
LIBRARIES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)


@dataclass(frozen=True)
class Token:
    library: Path
    label: str
    key_label: str
    pin: str


def _library() -> Path:
    for candidate in LIBRARIES:
        if Path(candidate).is_file():
            return Path(candidate)
    pytest.fail("SoftHSM2 is not installed; run scripts/setup-system.sh")


def softhsm_token(folder: Path, who: Issued) -> Iterator[Token]:
    """Initialise a token in ``folder``, import ``who``'s key and certificate into it."""
    if shutil.which("softhsm2-util") is None:
        pytest.fail("softhsm2-util is not installed; run scripts/setup-system.sh")
    library = _library()
    (folder / "tokens").mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    try:
        util = ["softhsm2-util"]
        subprocess.run(
            [*util, "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
            timeout=60,
        )
        key_file = folder / "key.pem"
        key_file.write_bytes(who.key_pem())
        subprocess.run(
            [*util, "--import", str(key_file), "--token", TOKEN, "--label", KEY_LABEL,
             "--id", "01", "--pin", PIN],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        key_file.unlink()
        import pkcs11
        from pkcs11 import Attribute, CertificateType, ObjectClass

        token = pkcs11.lib(str(library)).get_token(token_label=TOKEN)
        with token.open(user_pin=PIN, rw=True) as session:
            session.create_object(
                {
                    Attribute.CLASS: ObjectClass.CERTIFICATE,
                    Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                    Attribute.TOKEN: True,
                    Attribute.LABEL: KEY_LABEL,
                    Attribute.ID: b"\x01",
                    Attribute.VALUE: who.der,
                    Attribute.SUBJECT: who.cert.subject.public_bytes(),
                }
            )
        yield Token(library, TOKEN, KEY_LABEL, PIN)
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous
