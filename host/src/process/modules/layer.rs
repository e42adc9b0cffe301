//! The module inside a `tar+gzip` image layer: the format of Istio's Wasm images (a `FROM
//! scratch` image with `plugin.wasm` copied in). The layer is inflated with a cap (a gzip bomb
//! stops at it), read as a tar archive (ustar headers), and its `plugin.wasm` (at any
//! directory depth) is the module.

use std::io::Read;

use super::fetch::FetchError;

/// A tar block.
const BLOCK: usize = 512;
/// The file the module must be.
const MODULE: &str = "plugin.wasm";

/// `plugin.wasm` of the gzip-compressed tar `layer`, at most `max_bytes` (the whole archive
/// inflated is capped at `max_bytes` plus 1 MiB of headers and other files).
pub fn module(layer: &[u8], max_bytes: u64) -> Result<Vec<u8>, FetchError> {
    let cap = max_bytes.saturating_add(1024 * 1024);
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(layer)
        .take(cap.saturating_add(1))
        .read_to_end(&mut tar)
        .map_err(|e| FetchError::Registry(format!("the layer is not gzip: {e}")))?;
    if tar.len() as u64 > cap {
        return Err(FetchError::TooLarge(max_bytes));
    }
    let mut at = 0;
    while at + BLOCK <= tar.len() {
        let header = &tar[at..at + BLOCK];
        if header.iter().all(|b| *b == 0) {
            break; // end of archive
        }
        let size = octal(&header[124..136])
            .ok_or_else(|| FetchError::Registry("the layer is not a tar archive (bad entry size)".into()))?;
        let name = format!(
            "{}{}",
            field(&header[345..500]).map(|p| format!("{p}/")).unwrap_or_default(),
            field(&header[0..100]).unwrap_or_default()
        );
        let body = at + BLOCK;
        let end = usize::try_from(size).ok().and_then(|s| body.checked_add(s)).filter(|e| *e <= tar.len());
        let Some(end) = end else {
            return Err(FetchError::Registry("the layer's tar archive is cut short".into()));
        };
        // A regular file (`0`, or NUL in old archives) named plugin.wasm.
        if matches!(header[156], b'0' | 0) && (name == MODULE || name.ends_with(&format!("/{MODULE}"))) {
            if size > max_bytes {
                return Err(FetchError::TooLarge(max_bytes));
            }
            return Ok(tar[body..end].to_vec());
        }
        at = body + (end - body).div_ceil(BLOCK) * BLOCK;
    }
    Err(FetchError::Registry(format!("the tar+gzip layer holds no {MODULE}")))
}

/// A NUL-terminated text field, if not empty.
fn field(bytes: &[u8]) -> Option<String> {
    let text = bytes.split(|b| *b == 0).next().unwrap_or_default();
    (!text.is_empty()).then(|| String::from_utf8_lossy(text).into_owned())
}

/// An octal number field (spaces and NULs around it).
fn octal(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A tar of `files` (ustar), gzip-compressed.
    fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = Vec::new();
        for (name, body) in files {
            let mut header = [0u8; BLOCK];
            header[..name.len()].copy_from_slice(name.as_bytes());
            header[100..107].copy_from_slice(b"0000644");
            header[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
            header[156] = b'0';
            header[257..263].copy_from_slice(b"ustar\0");
            header[148..156].copy_from_slice(b"        ");
            let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
            header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            tar.extend_from_slice(&header);
            tar.extend_from_slice(body);
            tar.resize(tar.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        tar.extend_from_slice(&[0u8; 2 * BLOCK]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn plugin_wasm_is_found_at_any_depth() {
        let module = b"\0asm\x01\0\0\0".to_vec();
        let found = module_of(&layer(&[("etc/other", b"x"), ("./plugin.wasm", &module)]));
        assert_eq!(found.unwrap(), module);
        let err = module_of(&layer(&[("other.wasm", b"\0asm")])).unwrap_err().to_string();
        assert!(err.contains("holds no plugin.wasm"), "{err}");
        assert!(module_of(b"not gzip").unwrap_err().to_string().contains("not gzip"));
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 8 << 20];
        let bomb = layer(&[("plugin.wasm", &zeros)]);
        assert!(bomb.len() < 64 * 1024, "compresses well: {}", bomb.len());
        assert!(matches!(module(&bomb, 1 << 20), Err(FetchError::TooLarge(_))));
    }

    fn module_of(layer: &[u8]) -> Result<Vec<u8>, FetchError> {
        module(layer, 1 << 20)
    }
}
