use std::time::{Duration, Instant};

use super::*;
use weir_plugin_spec::PluginConfig;

const MAX: u64 = 1024;

fn reason(result: Result<Vec<u8>, SourceError>) -> String {
    match result {
        Ok(bytes) => panic!("read {} bytes", bytes.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn only_regular_files_under_the_cap_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.wasm");
    std::fs::write(&ok, b"\0asm").unwrap();
    assert_eq!(read_module(&ok, MAX).unwrap(), b"\0asm");

    let big = dir.path().join("big.wasm");
    std::fs::write(&big, vec![0u8; 2048]).unwrap();
    assert!(reason(read_module(&big, MAX)).contains("2048 bytes, over module_sources.max_module_bytes"));
    assert!(reason(read_module(Path::new("/dev/zero"), MAX)).contains("is a device"));
    assert!(reason(read_module(dir.path(), MAX)).contains("is a directory"));
    let socket = dir.path().join("s.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    assert!(reason(read_module(&socket, MAX)).contains("is a socket"));
    assert!(reason(read_module(&dir.path().join("none.wasm"), MAX)).contains("cannot read module"));
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.wasm");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(read_module(&path, MAX).map_err(|e| e.to_string()));
    });
    let started = Instant::now();
    let result = rx.recv_timeout(Duration::from_secs(2)).expect("reading a FIFO blocked");
    assert!(result.unwrap_err().contains("is a FIFO"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn admin_and_ecds_paths_must_resolve_under_the_module_directories() {
    let root = tempfile::tempdir().unwrap();
    let modules = root.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    std::fs::create_dir(modules.join("sub")).unwrap();
    let named = modules.join("named.wasm");
    std::fs::write(&named, b"\0asm").unwrap();
    std::fs::write(modules.join("sub/other.wasm"), b"\0asm").unwrap();
    std::fs::write(root.path().join("outside.wasm"), b"\0asm").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", modules.join("passwd.wasm")).unwrap();
    std::os::unix::fs::symlink(modules.join("named.wasm"), modules.join("inside.wasm")).unwrap();

    let plugins = [PluginConfig::new("p", named.clone())];
    let dirs = ModuleDirectories::of(&[], &plugins);
    let modules = std::fs::canonicalize(&modules).unwrap();
    assert_eq!(
        dirs.dirs(),
        std::slice::from_ref(&modules),
        "default: the directories of the modules the file names"
    );
    assert_eq!(dirs.admit(&modules.join("sub/other.wasm")).unwrap(), modules.join("sub/other.wasm"));
    assert_eq!(dirs.admit(&modules.join("inside.wasm")).unwrap(), modules.join("named.wasm"));
    assert_eq!(dirs.admit(&modules.join("sub/../named.wasm")).unwrap(), modules.join("named.wasm"));
    let escape = dirs.admit(&modules.join("passwd.wasm")).unwrap_err().to_string();
    assert!(escape.contains("resolves to /etc/passwd") && escape.contains("not under"), "{escape}");
    let outside = dirs.admit(&modules.join("../outside.wasm")).unwrap_err().to_string();
    assert!(outside.contains("not under the module directories"), "{outside}");
    assert!(dirs.admit(Path::new("/dev/zero")).is_err());

    let none = ModuleDirectories::of(&[root.path().join("nowhere")], &plugins).admit(&named);
    let none = none.unwrap_err().to_string();
    assert!(none.contains("no module directory is configured"), "{none}");
    let configured = ModuleDirectories::of(&[root.path().to_path_buf()], &plugins);
    assert!(configured.admit(&root.path().join("outside.wasm")).is_ok());
}
