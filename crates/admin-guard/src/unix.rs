//! The admin unix socket: a request that arrives here may change state without a token, so the
//! socket file is mode 0600 and a connection from another user (other than root) is refused
//! whatever the file's mode was at any instant (the peer's uid is read from the kernel).

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A bound admin socket, before it is handed to a tokio runtime.
#[derive(Debug)]
pub struct PrivateSocket {
    listener: std::os::unix::net::UnixListener,
    file: SocketFile,
}

/// The socket file; removed when the listener goes away (if it is still ours).
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    owner: u32,
    inode: (u64, u64),
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl PrivateSocket {
    /// Binds `path` (mode 0600). A stale socket nobody listens on is replaced; a live one, or a
    /// file that is not a socket, is an error.
    pub fn bind(path: &Path) -> io::Result<PrivateSocket> {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("another process serves the socket {}", path.display()),
                    ));
                }
                std::fs::remove_file(path)?;
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = std::os::unix::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let metadata = std::fs::symlink_metadata(path)?;
        listener.set_nonblocking(true)?;
        let file = SocketFile {
            path: path.to_path_buf(),
            owner: metadata.uid(),
            inode: (metadata.dev(), metadata.ino()),
        };
        Ok(PrivateSocket { listener, file })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// Hands the socket to the current tokio runtime.
    pub fn listen(self) -> io::Result<PrivateListener> {
        Ok(PrivateListener { listener: tokio::net::UnixListener::from_std(self.listener)?, file: self.file })
    }
}

/// An admin unix socket accepting connections on a tokio runtime.
#[derive(Debug)]
pub struct PrivateListener {
    listener: tokio::net::UnixListener,
    file: SocketFile,
}

impl PrivateListener {
    /// The next connection. A connection from a user other than the socket's owner and root is
    /// closed and reported as a `PermissionDenied` error (keep accepting after it).
    pub async fn accept(&self) -> io::Result<tokio::net::UnixStream> {
        let (stream, _) = self.listener.accept().await?;
        let uid = stream.peer_cred()?.uid();
        if uid != self.file.owner && uid != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "refused an admin socket connection from uid {uid} (only uid {} and root)",
                    self.file.owner
                ),
            ));
        }
        Ok(stream)
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn private_sockets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.sock");
        let socket = PrivateSocket::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let listener = socket.listen().unwrap();
        let client = tokio::spawn({
            let path = path.clone();
            async move {
                let mut s = tokio::net::UnixStream::connect(&path).await.unwrap();
                s.write_all(b"hi").await.unwrap();
            }
        });
        let mut stream = listener.accept().await.unwrap();
        let mut buf = [0u8; 2];
        stream.read_exact(&mut buf).await.unwrap();
        client.await.unwrap();
        assert_eq!(PrivateSocket::bind(&path).unwrap_err().kind(), io::ErrorKind::AddrInUse);
        drop(listener);
        assert!(!path.exists(), "the socket file goes with the listener");

        std::fs::write(&path, "x").unwrap();
        assert_eq!(PrivateSocket::bind(&path).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
    }
}
