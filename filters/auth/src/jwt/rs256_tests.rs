use rsa::BigUint;
use rsa::traits::PublicKeyParts;

use super::*;
use crate::sign;

fn public(pem: &str) -> rsa::RsaPublicKey {
    use rsa::pkcs8::DecodePrivateKey;
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap().to_public_key()
}

fn key(pem: &str) -> RsaKey {
    let public = public(pem);
    RsaKey::new(&public.n().to_bytes_be(), &public.e().to_bytes_be(), 2048, 8192).unwrap()
}

/// Deterministic pseudo-random bytes (xorshift64*), so failures reproduce.
fn bytes(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed >> 12;
            *seed ^= *seed << 25;
            *seed ^= *seed >> 27;
            (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

#[test]
fn signatures_made_by_the_rsa_crate_verify() {
    let key = key(sign::RSA_PEM);
    for message in [&b""[..], b"a", b"header.payload", &[0xa5; 1000]] {
        let signature = sign::rsa_sign(sign::RSA_PEM, message);
        assert!(key.verify(message, &signature), "{message:?}");
    }
}

#[test]
fn anything_else_is_refused() {
    let key = key(sign::RSA_PEM);
    let message = b"header.payload";
    let signature = sign::rsa_sign(sign::RSA_PEM, message);
    assert!(!key.verify(b"header.payloaD", &signature));
    assert!(!key.verify(message, &sign::rsa_sign(sign::RSA_OTHER_PEM, message)));
    for i in [0, 1, 100, 255] {
        let mut tampered = signature.clone();
        tampered[i] ^= 0x01;
        assert!(!key.verify(message, &tampered), "bit flipped in byte {i}");
    }
    assert!(!key.verify(message, &signature[1..]));
    let mut longer = vec![0];
    longer.extend_from_slice(&signature);
    assert!(!key.verify(message, &longer));
    // s >= n is not a signature, even where s mod n would be one.
    let n = public(sign::RSA_PEM).n().to_bytes_be();
    assert!(!key.verify(message, &n));
    let s_plus_n = (BigUint::from_bytes_be(&signature) + BigUint::from_bytes_be(&n)).to_bytes_be();
    if s_plus_n.len() == n.len() {
        assert!(!key.verify(message, &s_plus_n));
    }
    assert!(!key.verify(message, &[0xff; 256]));
    assert!(!key.verify(message, &[0; 256]));
}

#[test]
fn the_public_operation_matches_a_general_modpow() {
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for (bits, e) in
        [(2048, 65537u64), (2056, 3), (3072, 65537), (4096, (1 << 33) - 1), (2048, 0x1_0000_0001)]
    {
        let mut n = bytes(&mut seed, bits / 8);
        n[0] |= 0x80;
        if let Some(last) = n.last_mut() {
            *last |= 1;
        }
        let key = RsaKey::new(&n, &e.to_be_bytes(), 2048, 8192).unwrap();
        let modulus = BigUint::from_bytes_be(&n);
        for _ in 0..4 {
            let s = BigUint::from_bytes_be(&bytes(&mut seed, bits / 8)) % &modulus;
            let limbs = limbs(&s.to_bytes_be(), key.n.len());
            let got = BigUint::from_bytes_be(&to_bytes(&key.public_op(&limbs), key.bytes));
            assert_eq!(got, s.modpow(&BigUint::from(e), &modulus), "{bits} bits, e = {e}");
        }
        let top = BigUint::from_bytes_be(&n) - BigUint::from(1u8);
        let limbs = limbs(&top.to_bytes_be(), key.n.len());
        let got = BigUint::from_bytes_be(&to_bytes(&key.public_op(&limbs), key.bytes));
        assert_eq!(got, top.modpow(&BigUint::from(e), &modulus), "n - 1, {bits} bits");
    }
}

#[test]
fn bad_keys_are_refused_with_the_reason() {
    let public = public(sign::RSA_PEM);
    let (n, e) = (public.n().to_bytes_be(), public.e().to_bytes_be());
    let err = |n: &[u8], e: &[u8]| RsaKey::new(n, e, 2048, 4096).err().unwrap_or_default();
    assert!(err(&n[1..], &e).contains("at least 2048"));
    assert!(err(&[&[1u8][..], &n, &n].concat(), &e).contains("at most 4096"));
    let mut even = n.clone();
    if let Some(last) = even.last_mut() {
        *last &= 0xfe;
    }
    assert!(err(&even, &e).contains("even"));
    for bad in [&[1u8][..], &[2], &[0x01, 0x00, 0x00, 0x00, 0x00], &[1; 9], &[]] {
        assert!(err(&n, bad).contains("public exponent"), "{bad:?}");
    }
    // Leading zero bytes are not bits.
    let padded = RsaKey::new(&[&[0u8, 0][..], &n].concat(), &[0, 1, 0, 1], 2048, 4096).unwrap();
    assert_eq!(padded.bytes, 256);
}
