"""Content credentials verified offline: a photo signed here with a test CA (EC P-256, made with
``cryptography``) is valid, trusted once its CA is an anchor, invalid after one pixel byte
changes (a fail), and a photo without a manifest is neutral."""
from __future__ import annotations

import datetime
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from domain.validation import Site, ValidationContext, judge
from domain.validation.facts import extract_facts_guarded

from .photos import JIANGMEN, exif, jpeg, picture, sign_with_c2pa

pytest.importorskip("c2pa")
WINDOW = {"starts_at": datetime.datetime(2026, 5, 1, 1, tzinfo=datetime.timezone.utc),
          "ends_at": datetime.datetime(2026, 5, 1, 3, tzinfo=datetime.timezone.utc)}
CONTEXT = ValidationContext(site=Site(*JIANGMEN, 100), **WINDOW)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test")])


def _usage(**on) -> x509.KeyUsage:
    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    return x509.KeyUsage(**{**flags, **on})


@pytest.fixture(scope="module")
def test_ca():
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, ee_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject, issuer, key, signing_key, *extensions):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=30)))
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    ca = cert(_name("Validation Test CA"), _name("Validation Test CA"), ca_key, ca_key,
              (x509.BasicConstraints(ca=True, path_length=None), True), (_usage(key_cert_sign=True, crl_sign=True), True),
              (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False))
    ee = cert(_name("Validation Test Signer"), ca.subject, ee_key, ca_key,
              (x509.BasicConstraints(ca=False, path_length=None), True), (_usage(digital_signature=True), True),
              (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False),
              (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False))
    pem = serialization.Encoding.PEM
    key = ee_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {"chain": ee.public_bytes(pem) + ca.public_bytes(pem), "key": key, "anchor": ca.public_bytes(pem).decode()}


@pytest.fixture(scope="module")
def signed(tmp_path_factory, test_ca):
    folder = tmp_path_factory.mktemp("c2pa")
    source = jpeg(folder / "plain.jpg", picture(9, (800, 600)), ex=exif(capture="2026:05:01 10:00:00"))
    path = folder / "signed.jpg"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(sign_with_c2pa, str(source), str(path), test_ca["chain"], test_ca["key"]).result(timeout=120)
    return path, source


def test_a_signed_photo_is_valid_and_passes(signed):
    facts = extract_facts_guarded(signed[0])
    verdict = judge(facts, CONTEXT)
    assert facts.c2pa["state"] == "valid"
    assert "c2pa.valid" in verdict.codes and str(verdict.outcome) == "pass"


def test_a_signed_photo_is_trusted_when_its_ca_is_an_anchor(signed, test_ca):
    facts = extract_facts_guarded(signed[0], trust_anchors_pem=test_ca["anchor"])
    assert (facts.c2pa["state"], judge(facts, CONTEXT).reason("c2pa.trusted").params) == (
        "trusted", {"signer": "Validation Test Signer"})


def test_one_flipped_pixel_byte_makes_the_credentials_invalid_and_the_photo_fail(signed, tmp_path):
    data = bytearray(signed[0].read_bytes())
    data[-200] ^= 0x01  # inside the entropy-coded scan, covered by the manifest's data hash
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    verdict = judge(extract_facts_guarded(tampered), CONTEXT)
    assert str(verdict.outcome) == "fail"
    assert "assertion.dataHash.mismatch" in verdict.reason("c2pa.invalid").params["failures"]


def test_a_photo_without_credentials_is_neutral(signed):
    facts = extract_facts_guarded(signed[1])
    verdict = judge(facts, CONTEXT)
    assert facts.c2pa["state"] == "absent"
    assert not [c for c in verdict.codes if c.startswith("c2pa.")] and str(verdict.outcome) == "pass"
