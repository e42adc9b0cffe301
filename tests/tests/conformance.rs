//! The conformance suite: every case in `tests/conformance/` against real Envoy and weir.
//!
//! Needs `cargo xtask envoy` and `cargo xtask build-filters` (both done by `cargo xtask test`).
//! A missing Envoy or filter is a failure, never a skip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use libtest_mimic::{Arguments, Failed, Trial};
use weir_tests::conformance;

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let cases = match conformance::load_all(&conformance::cases_dir()) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("cannot load conformance cases: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Each case statically, then configured by weir-cp over ADS (state of the world, delta).
    let modes = [
        ("", conformance::Mode::Static),
        ("xds-sotw/", conformance::Mode::Xds { delta: false }),
        ("xds-delta/", conformance::Mode::Xds { delta: true }),
    ];
    let cases: Vec<(String, conformance::Mode, conformance::Case)> = cases
        .into_iter()
        .flat_map(|(name, case)| modes.map(|(prefix, mode)| (format!("{prefix}{name}"), mode, case.clone())))
        .collect();
    let trials = cases
        .into_iter()
        .map(|(name, mode, case)| {
            Trial::test(name, move || {
                conformance::check_filters(&case).map_err(|e| Failed::from(format!("{e:#}")))?;
                weir_tests::envoy_required().map_err(|e| Failed::from(format!("{e:#}")))?;
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| Failed::from(e.to_string()))?;
                let failures = runtime
                    .block_on(conformance::run(&case, mode))
                    .map_err(|e| Failed::from(format!("{e:#}")))?;
                if failures.is_empty() {
                    Ok(())
                } else {
                    Err(Failed::from(format!("{}\n{}", case.description, failures.join("\n"))))
                }
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
