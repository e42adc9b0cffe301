//! The counters, in Redis: fixed windows aligned to the Unix epoch, one key per descriptor
//! value and window, expiring with its window. One Lua script checks every counter a request
//! touches and increments them all only if every enforced one stays within its limit, so the
//! decision is atomic across every weir-rls replica and proxy: of N concurrent requests for a
//! limit of L per window, exactly min(N, L) are allowed. A denied request consumes nothing.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::OnceCell;

use crate::error::StoreError;

/// For each counter `i` (KEYS[i]): ARGV[3i-2] the limit, ARGV[3i-1] the hits, ARGV[3i] the
/// window in seconds, negative when the limit is in shadow mode (counted, never enforced).
/// Returns `{over, count_1, ..., count_n}`: `over` is 1 when an enforced counter would pass its
/// limit (then nothing was written and the counts are the current ones), else each count is
/// the value after the increment.
const CHECK_AND_INCREMENT: &str = r"
local over = 0
local counts = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[3 * i - 2])
  local hits = tonumber(ARGV[3 * i - 1])
  local window = tonumber(ARGV[3 * i])
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  counts[i] = current
  if window > 0 and current + hits > limit then
    over = 1
  end
end
if over == 0 then
  for i = 1, #KEYS do
    counts[i] = redis.call('INCRBY', KEYS[i], ARGV[3 * i - 1])
    if redis.call('TTL', KEYS[i]) < 0 then
      redis.call('EXPIRE', KEYS[i], math.abs(tonumber(ARGV[3 * i])))
    end
  end
end
table.insert(counts, 1, over)
return counts
";

/// One counter a request touches.
#[derive(Debug, Clone)]
pub struct Counter {
    /// The Redis key (descriptor and window).
    pub key: String,
    /// Requests allowed per window.
    pub limit: u32,
    /// Hits this request adds.
    pub hits: u32,
    /// The window's length in seconds (the key expires with it).
    pub window_secs: u64,
    /// Counted but never enforced.
    pub shadow: bool,
}

/// What the script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// An enforced counter would have passed its limit: nothing was counted.
    pub over: bool,
    /// Per counter: the value after this request (or the current one when `over`).
    pub counts: Vec<u64>,
}

/// The Redis connection (one multiplexed connection, reconnected when it breaks).
pub struct Store {
    client: Client,
    connection: OnceCell<ConnectionManager>,
    script: Script,
    timeout: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Store {
    /// A store for `url` (`redis://host:port`, `rediss://…`, `unix:///path`); connects on
    /// first use. Every call gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Store, redis::RedisError> {
        Ok(Store {
            client: Client::open(url)?,
            connection: OnceCell::new(),
            script: Script::new(CHECK_AND_INCREMENT),
            timeout,
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let manager = self
            .connection
            .get_or_try_init(|| self.client.get_connection_manager_with_config(config))
            .await?;
        Ok(manager.clone())
    }

    /// Checks and counts `counters` as one atomic step.
    pub async fn check(&self, counters: &[Counter]) -> Result<Outcome, StoreError> {
        if counters.is_empty() {
            return Ok(Outcome { over: false, counts: Vec::new() });
        }
        let call = async {
            let mut connection = self.connection().await?;
            let mut invocation = self.script.prepare_invoke();
            for c in counters {
                let window = i64::try_from(c.window_secs).unwrap_or(i64::MAX);
                invocation.key(&c.key).arg(c.limit).arg(c.hits).arg(if c.shadow { -window } else { window });
            }
            let answer: Vec<i64> = invocation.invoke_async(&mut connection).await?;
            Ok::<_, StoreError>(answer)
        };
        let answer = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| StoreError::Timeout(self.timeout))??;
        let (over, counts) = answer.split_first().ok_or(StoreError::Answer)?;
        if counts.len() != counters.len() {
            return Err(StoreError::Answer);
        }
        Ok(Outcome {
            over: *over == 1,
            counts: counts.iter().map(|c| u64::try_from(*c).unwrap_or(0)).collect(),
        })
    }
}

/// The key of a descriptor's counter in the window starting at `window_start` (Unix seconds):
/// every part length-prefixed, so different descriptors never share a key.
pub fn key(domain: &str, entries: &[(&str, &str)], window_secs: u64, window_start: u64) -> String {
    use std::fmt::Write;
    let mut key = String::from("weir-rls");
    let mut part = |s: &str| {
        let _ = write!(key, ":{}:{s}", s.len());
    };
    part(domain);
    for (k, v) in entries {
        part(k);
        part(v);
    }
    let _ = write!(key, ":{window_secs}:{window_start}");
    key
}
