//! The hostile suites of issue 19 (`tests/tests/hostile_filters.rs`,
//! `tests/tests/hostile_clients.rs`): a filter or a client that attacks the host on purpose
//! must not take weir down, bypass a policy, or grow its memory without bound. Built on the
//! fault suite's pieces (layout, proxies, bounded load, checks, report).

pub mod client_drive;
pub mod client_run;
pub mod clients;
pub mod conn;
pub mod evidence;
pub mod filter_run;
pub mod filters;
pub mod filters_guest;
pub mod filters_host;
pub mod gauges;
pub mod guest;
pub mod h2;
pub mod held;
pub mod http1;
pub mod paths;
pub mod stream;
pub mod wat;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attack_module_compiles() {
        let modules = [
            ("shared_data", held::shared_data()),
            ("shared_queue", held::shared_queue()),
            ("metrics", held::metrics()),
            ("http_callouts", held::http_callouts()),
            ("grpc_stream", held::grpc_stream()),
            ("header_maps", stream::header_maps()),
            ("filter_state", stream::filter_state()),
            ("buffer_appends", stream::buffer_appends()),
            ("property_path", stream::property_path()),
            ("huge_response_header", stream::huge_response_header()),
            ("fd_write", guest::fd_write()),
            ("tick_timers", guest::tick_timers()),
            ("forged_logs", guest::forged_logs()),
            ("leak", guest::leak()),
            ("recursion", guest::recursion()),
            ("guard", paths::guard()),
        ];
        for (name, module) in modules {
            if let Err(e) = ::wat::parse_str(module.wat()) {
                panic!("{name}: {e}\n{}", module.wat());
            }
        }
    }
}
