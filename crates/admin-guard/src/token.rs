//! The admin bearer token: read from a file or an environment variable, never printed, compared
//! in constant time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// The shortest token accepted, in bytes.
pub const MIN_TOKEN_BYTES: usize = 16;

/// Why a token could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("cannot read the admin token file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Every local user may read the token file.
    #[error(
        "the admin token file {path} is readable by every user (mode {mode:o}); `chmod 600` it (or 640 for a group)"
    )]
    WorldReadable {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The token is too short or not printable.
    #[error("the admin token from {origin} {reason}")]
    Unusable {
        /// Where it came from (a file, an environment variable).
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

/// A bearer token. `Debug` never shows it.
#[derive(Clone)]
pub struct Token {
    text: Arc<str>,
    digest: [u8; 32],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        same(&self.digest, &other.digest)
    }
}

impl Eq for Token {}

impl Token {
    /// A token from its text (`origin` names it in errors). Surrounding whitespace (a trailing
    /// newline in a file) is ignored; what remains must be at least [`MIN_TOKEN_BYTES`] bytes of
    /// visible ASCII, as an HTTP header value carries it.
    pub fn new(text: &str, origin: &str) -> Result<Token, TokenError> {
        let unusable =
            |reason: &str| TokenError::Unusable { origin: origin.to_string(), reason: reason.into() };
        let text = text.trim();
        if text.len() < MIN_TOKEN_BYTES {
            return Err(unusable(&format!("is shorter than {MIN_TOKEN_BYTES} bytes")));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(unusable("holds characters other than visible ASCII"));
        }
        Ok(Token { digest: Sha256::digest(text.as_bytes()).into(), text: Arc::from(text) })
    }

    /// Reads a token file. A file every user may read is refused.
    pub fn from_file(path: &Path) -> Result<Token, TokenError> {
        let read = |source| TokenError::Read { path: path.to_path_buf(), source };
        let metadata = std::fs::metadata(path).map_err(read)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o004 != 0 {
                return Err(TokenError::WorldReadable { path: path.to_path_buf(), mode });
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        let text = std::fs::read_to_string(path).map_err(read)?;
        Token::new(&text, &path.display().to_string())
    }

    /// The token in environment variable `name`, if it is set.
    pub fn from_env(name: &str) -> Result<Option<Token>, TokenError> {
        match std::env::var(name) {
            Ok(text) => Token::new(&text, &format!("${name}")).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(TokenError::Unusable { origin: format!("${name}"), reason: "is not UTF-8".into() })
            }
        }
    }

    /// The `Authorization` header value a client sends: `Bearer <token>`. Never log it.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.text)
    }

    /// Whether `presented` (the text after `Bearer `) is this token. The comparison takes the
    /// same time wherever the first difference is, and whatever the lengths.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.trim_ascii()).into();
        same(&self.digest, &digest)
    }
}

/// Constant-time equality of two digests.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "0123456789abcdef-token";

    #[test]
    fn matches_only_itself_and_never_prints() {
        let token = Token::new(&format!("{TEXT}\n"), "test").unwrap();
        assert!(token.matches(TEXT.as_bytes()));
        assert_eq!(token.authorization(), format!("Bearer {TEXT}"));
        assert!(!token.matches(b"0123456789abcdef-tokeN"));
        assert!(!token.matches(b""));
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert_eq!(token, Token::new(TEXT, "other").unwrap());
    }

    #[test]
    fn short_or_odd_tokens_are_refused() {
        assert!(Token::new("short", "x").unwrap_err().to_string().contains("shorter than 16"));
        assert!(Token::new("0123456789 abcdefgh", "x").unwrap_err().to_string().contains("visible ASCII"));
    }

    #[cfg(unix)]
    #[test]
    fn token_files_must_not_be_world_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, TEXT).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(Token::from_file(&path), Err(TokenError::WorldReadable { .. })));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(Token::from_file(&path).unwrap().matches(TEXT.as_bytes()));
        assert!(matches!(Token::from_file(&dir.path().join("none")), Err(TokenError::Read { .. })));
    }
}
