//! Decimal numbers written without the formatting machinery, which is slow in Wasm.

/// Appends `n` in decimal (without the formatting machinery, which is slow in Wasm).
pub fn push_u32(out: &mut String, n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: always valid UTF-8, appended in one copy.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}
