use super::*;

const JWKS: &str = include_str!("../../tests/keys/jwks.json");

#[test]
fn parses_the_test_jwks() {
    let (set, notes) = parse(JWKS.as_bytes(), true).unwrap();
    let algs: Vec<_> = set.keys.iter().map(|k| (k.kid.as_deref().unwrap(), k.alg)).collect();
    assert_eq!(algs, [("rsa-1", Alg::Rs256), ("ec-1", Alg::Es256), ("hs-1", Alg::Hs256)]);
    assert!(notes.is_empty());
}

#[test]
fn strict_refuses_what_lenient_skips() {
    let text = br#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AA"},
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "oct", "alg": "HS512", "k": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"},
        {"kty": "RSA", "alg": "HS256", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"},
        {"kty": "oct", "use": "enc", "k": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"},
        {"kty": "oct", "k": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"}]}"#;
    let err = parse(text, true).unwrap_err();
    assert!(err.contains("keys[0]") && err.contains("OKP"), "{err}");
    let (set, notes) = parse(text, false).unwrap();
    assert_eq!(set.keys.len(), 1);
    let all = notes.join("\n");
    for want in
        ["at least 32", "unsupported algorithm `HS512`", "does not fit", "P-384", "not a signature key"]
    {
        assert!(all.contains(want), "{want} in {all}");
    }
}

#[test]
fn malformed_sets_fail() {
    assert!(parse(b"{}", false).unwrap_err().contains("not a JWKS"));
    assert!(parse(b"{\"keys\": []}", false).unwrap_err().contains("no usable key"));
    assert!(parse(b"-----BEGIN PUBLIC KEY-----", true).is_err());
    let short_rsa = br#"{"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}"#;
    assert!(parse(short_rsa, true).unwrap_err().contains("at least 2048"));
    let bad_ec = br#"{"keys": [{"kty": "EC", "crv": "P-256",
        "x": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "y": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}"#;
    assert!(parse(bad_ec, true).unwrap_err().contains("not a point"));
}

#[test]
fn algorithm_names() {
    assert_eq!(Alg::parse("none"), None);
    assert_eq!(Alg::parse("hs256"), None);
    for alg in Alg::ALL {
        assert_eq!(Alg::parse(alg.name()), Some(alg));
    }
}
