//! RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 §8.2.2) verification with a public key.
//!
//! A signature is checked by computing `s^e mod n` with Montgomery multiplication on 32-bit
//! limbs (wasm32 multiplies 32x32->64 natively) and comparing the result with the one encoding
//! a valid signature of the message can have. Everything per key (limbs of `n`, `-n^-1 mod
//! 2^32`, `R^2 mod n`) is computed once when the key is parsed, and the exponent is walked bit
//! by bit: 17 multiplications for e = 65537, where a general-purpose `modpow` (the `rsa`
//! crate's) spends ~57 and a long division per call. Only public values are involved, so
//! nothing here needs to run in constant time.

use sha2::{Digest, Sha256};

/// DER of the SHA-256 `DigestInfo` up to the digest (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0x04, 0x20,
];

/// Largest accepted public exponent (as the `rsa` crate: 2^33 - 1).
const MAX_EXPONENT: u64 = (1 << 33) - 1;

/// An RSA public key ready to verify RS256 signatures.
pub struct RsaKey {
    /// The modulus, little-endian 32-bit limbs, plus one zero limb on top. Every number here
    /// has that spare limb (`k + 1` limbs for a `k`-limb modulus), which lets the
    /// multiplication's last step run in its unrolled loop (see [`RsaKey::mul`]).
    n: Vec<u32>,
    /// `-n^-1 mod 2^32`.
    n0inv: u32,
    /// `R^2 mod n` with `R = 2^(32 * limbs)`: multiplying by it enters Montgomery form.
    rr: Vec<u32>,
    e: u64,
    /// Length of the modulus in bytes (= the signature length).
    bytes: usize,
}

impl RsaKey {
    /// A key from the big-endian modulus and exponent (a JWK's decoded `n` and `e`) of
    /// `min_bits..=max_bits` bits.
    pub fn new(n: &[u8], e: &[u8], min_bits: usize, max_bits: usize) -> Result<RsaKey, String> {
        let n = strip(n);
        let bits = n.first().map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
        if bits < min_bits {
            return Err(format!("RSA key of {bits} bits; at least {min_bits} needed"));
        }
        if bits > max_bits {
            return Err(format!("RSA key of {bits} bits; at most {max_bits} accepted"));
        }
        if n.last().is_some_and(|low| low & 1 == 0) {
            return Err("bad RSA key: the modulus is even".into());
        }
        let e = strip(e);
        let e = match e.len() {
            0..=8 => e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
            _ => u64::MAX,
        };
        if !(3..=MAX_EXPONENT).contains(&e) || e & 1 == 0 {
            return Err(format!("bad RSA key: public exponent {e} (must be odd, 3 to 2^33-1)"));
        }
        let mut limbs = limbs(n, n.len().div_ceil(4));
        let mut rr = r_squared(&limbs);
        limbs.push(0);
        rr.push(0);
        Ok(RsaKey { n0inv: neg_inverse(limbs[0]), n: limbs, rr, e, bytes: n.len() })
    }

    /// Whether `signature` is a valid RS256 signature of `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if signature.len() != self.bytes {
            return false;
        }
        let s = limbs(signature, self.n.len());
        if !less(&s, &self.n) {
            return false;
        }
        let m = self.public_op(&s);
        let mut expected = vec![0xff; self.bytes];
        let digest_at = self.bytes - 32;
        let info_at = digest_at - SHA256_DIGEST_INFO.len();
        expected[0] = 0x00;
        expected[1] = 0x01;
        expected[info_at - 1] = 0x00;
        expected[info_at..digest_at].copy_from_slice(&SHA256_DIGEST_INFO);
        expected[digest_at..].copy_from_slice(&Sha256::digest(message));
        to_bytes(&m, self.bytes) == expected
    }

    /// `s^e mod n` for `s < n` (both with the spare limb).
    fn public_op(&self, s: &[u32]) -> Vec<u32> {
        let k = self.n.len();
        let mut scratch = vec![0u32; k + 1];
        let mut base = vec![0u32; k];
        self.mul(&mut base, s, &self.rr, &mut scratch);
        let mut acc = base.clone();
        let mut tmp = vec![0u32; k];
        for bit in (0..63 - self.e.leading_zeros()).rev() {
            self.mul(&mut tmp, &acc, &acc, &mut scratch);
            if self.e >> bit & 1 == 1 {
                self.mul(&mut acc, &tmp, &base, &mut scratch);
            } else {
                std::mem::swap(&mut acc, &mut tmp);
            }
        }
        let mut one = vec![0u32; k];
        one[0] = 1;
        self.mul(&mut tmp, &acc, &one, &mut scratch);
        tmp
    }

    /// Montgomery product `out = a * b / R mod n` for `a, b < n` (CIOS, reduction fused into
    /// the multiplication loop). All four have the spare zero limb on top; `t` is scratch of
    /// the same length.
    fn mul(&self, out: &mut [u32], a: &[u32], b: &[u32], t: &mut [u32]) {
        let k = self.n.len() - 1;
        // Slices of the one length let the compiler drop the bounds checks in the inner loop.
        let (n, b, t) = (&self.n[..=k], &b[..=k], &mut t[..=k]);
        t.fill(0);
        for &ai in &a[..k] {
            let ai = u64::from(ai);
            let s = u64::from(t[0]) + ai * u64::from(b[0]);
            let m = u64::from((s as u32).wrapping_mul(self.n0inv));
            // The low limb of `s + m * n[0]` is zero by the choice of `m`: only its carry stays.
            let mut c = (s >> 32, (u64::from(s as u32) + m * u64::from(n[0])) >> 32);
            // Limbs 1..=k, eight per turn: a loop's back edge is where wasmtime checks the
            // callback's time limit (its epoch check), which took ~40% of this loop's time when
            // it went one limb per turn. Limb k (the spare one, zero in `b` and `n`) folds the
            // carries into the top of `t`, so the usual 2048-, 3072- and 4096-bit keys need
            // no remainder loop.
            let (b8, n8) = (b[1..].chunks_exact(8), n[1..].chunks_exact(8));
            let done = 1 + b8.len() * 8;
            for (j, (bq, nq)) in (1..).step_by(8).zip(b8.zip(n8)) {
                let w = &mut t[j - 1..j + 8];
                for q in 0..8 {
                    w[q] = mac(&mut c, w[q + 1], ai, bq[q], m, nq[q]);
                }
            }
            for j in done..=k {
                t[j - 1] = mac(&mut c, t[j], ai, b[j], m, n[j]);
            }
            // The top limb: at most 1, since t < 2n.
            t[k] = (c.0 + c.1) as u32;
        }
        // t < 2n: one subtraction at most.
        if t[k] != 0 || !less(&t[..k], &n[..k]) {
            sub_assign(&mut t[..k], &n[..k]);
        }
        out[..k].copy_from_slice(&t[..k]);
        out[k] = 0;
    }
}

/// One limb of the CIOS step: `t + ai * b + c.0` and `low + m * n + c.1`, carries kept in `c`;
/// returns the limb that goes one place down.
#[inline(always)]
fn mac(c: &mut (u64, u64), t: u32, ai: u64, b: u32, m: u64, n: u32) -> u32 {
    let s = u64::from(t) + ai * u64::from(b) + c.0;
    c.0 = s >> 32;
    let r = u64::from(s as u32) + m * u64::from(n) + c.1;
    c.1 = r >> 32;
    r as u32
}

fn strip(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[zeros..]
}

/// Big-endian bytes as `count` little-endian limbs (the bytes must fit).
fn limbs(bytes: &[u8], count: usize) -> Vec<u32> {
    let mut out = vec![0u32; count];
    for (i, chunk) in bytes.rchunks(4).enumerate() {
        out[i] = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
    }
    out
}

/// Little-endian limbs as `len` big-endian bytes (the value must fit).
fn to_bytes(limbs: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        *byte = limbs.get(i / 4).map_or(0, |l| (l >> (8 * (i % 4))) as u8);
    }
    out
}

/// `a < b` for equal-length limb slices.
fn less(a: &[u32], b: &[u32]) -> bool {
    a.iter().rev().cmp(b.iter().rev()) == std::cmp::Ordering::Less
}

/// `a -= b` modulo `2^(32 * len)`.
fn sub_assign(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0u64;
    for (x, y) in a.iter_mut().zip(b) {
        let d = u64::from(*x).wrapping_sub(u64::from(*y)).wrapping_sub(borrow);
        *x = d as u32;
        borrow = d >> 63;
    }
}

/// `-x^-1 mod 2^32` for odd `x` (Newton's iteration doubles the correct bits each step).
fn neg_inverse(x: u32) -> u32 {
    let mut inv = x; // correct to 3 bits for odd x
    for _ in 0..4 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(x.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

/// `R^2 mod n` for `R = 2^(32 * limbs)`, by doubling 1 modulo `n` (once per key).
fn r_squared(n: &[u32]) -> Vec<u32> {
    let mut x = vec![0u32; n.len()];
    x[0] = 1;
    for _ in 0..64 * n.len() {
        let mut carry = 0u32;
        for limb in x.iter_mut() {
            let next = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry != 0 || !less(&x, n) {
            sub_assign(&mut x, n);
        }
    }
    x
}

#[cfg(test)]
#[path = "rs256_tests.rs"]
mod tests;
