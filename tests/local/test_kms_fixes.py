"""The twin's KMS makes no RSA key for a symmetric key until something needs one, and answers as
moto does: encryption round trips, and a symmetric key's Sign/GetPublicKey get moto's answers."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.kms import models

from labelwatch.local import kms_fixes
from labelwatch.local.patching import PatchSet

pytestmark = pytest.mark.xdist_group("local-stack")  # patches moto process-wide


def _answers() -> dict[str, object]:
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        symmetric = kms.create_key(Description="data")["KeyMetadata"]["KeyId"]
        asymmetric = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        backend = models.kms_backends["123456789012"]["us-east-1"]
        lazy_before_use = isinstance(backend.keys[symmetric].private_key, kms_fixes.LazyPrivateKey)
        blob = kms.encrypt(KeyId=symmetric, Plaintext=b"leaf-smut")["CiphertextBlob"]
        answers: dict[str, object] = {
            "lazy": lazy_before_use,
            "decrypted": kms.decrypt(CiphertextBlob=blob)["Plaintext"],
            "data key": len(kms.generate_data_key(KeyId=symmetric, KeySpec="AES_256")["Plaintext"]),
            "rsa public key": len(kms.get_public_key(KeyId=asymmetric)["PublicKey"]) > 200,
            "rsa verifies": kms.verify(
                KeyId=asymmetric,
                Message=b"m",
                Signature=kms.sign(KeyId=asymmetric, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")[
                    "Signature"
                ],
                SigningAlgorithm="RSASSA_PSS_SHA_256",
            )["SignatureValid"],
        }
        for name, call in {
            "symmetric sign": lambda: kms.sign(
                KeyId=symmetric, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256"
            ),
            "symmetric public key": lambda: kms.get_public_key(KeyId=symmetric),
        }.items():
            try:
                answers[name] = sorted(call())
            except ClientError as error:
                answers[name] = error.response["Error"]["Code"]
        return answers


def test_symmetric_keys_get_their_private_key_on_first_use_and_kms_answers_as_moto_does():
    as_moto = _answers()
    fix = PatchSet(kms_fixes.patches())
    fix.apply()
    try:
        as_twin = _answers()
    finally:
        fix.restore()
    assert as_moto.pop("lazy") is False and as_twin.pop("lazy") is True
    assert as_twin == as_moto
    assert as_twin["decrypted"] == b"leaf-smut" and as_twin["rsa verifies"] is True
