//! `weir-echo`: the echo upstream as a process (for `cargo xtask demo` and benchmarks).
//! Prints `listening on <addr>` on its first line and serves until killed.

#![allow(clippy::print_stdout)]

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let server = weir_tests::echo::EchoServer::start()?;
    println!("listening on {}", server.addr());
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
