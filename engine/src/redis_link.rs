//! The server's link to Redis, shared by the labs that use it (the cache
//! lab's backend, the rate-limit lab's shared limiter): one auto-
//! reconnecting connection, a timeout on every command, and a pause after
//! a failure so an outage costs one timeout per second, not per request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::aio::ConnectionManager;

use crate::clock::Clock;

/// After a failure, seconds (by the server's clock) before trying again.
const RETRY_SECS: i64 = 1;

/// Redis could not be reached (or refused); callers fall back.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct RedisDown(pub String);

/// One lazily connected, shared connection to Redis.
pub struct RedisLink {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    failed_at: Mutex<Option<i64>>,
    clock: Arc<dyn Clock>,
    /// How long one command (or connecting, twice this) may take.
    timeout: Duration,
}

impl RedisLink {
    /// A link to `url` whose commands count Redis as down after `timeout`;
    /// nothing connects until first use.
    pub fn new(url: &str, clock: Arc<dyn Clock>, timeout: Duration) -> Result<Self, RedisDown> {
        Ok(Self {
            client: redis::Client::open(url)
                .map_err(|e| RedisDown(format!("bad REDIS_URL: {e}")))?,
            connection: tokio::sync::Mutex::new(None),
            failed_at: Mutex::new(None),
            clock,
            timeout,
        })
    }

    /// The shared connection, connecting (within the timeout) if needed.
    async fn connection(&self) -> Result<ConnectionManager, RedisDown> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        if self
            .failed_at
            .lock()
            .expect("never poisoned")
            .is_some_and(|at| self.clock.now() - at < RETRY_SECS)
        {
            return Err(RedisDown("Redis was unreachable a moment ago".into()));
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        match tokio::time::timeout(
            self.timeout * 2,
            ConnectionManager::new_with_config(self.client.clone(), config),
        )
        .await
        {
            Ok(Ok(connection)) => {
                *slot = Some(connection.clone());
                Ok(connection)
            }
            Ok(Err(e)) => Err(self.down(e.to_string())),
            Err(_) => Err(self.down("connecting timed out".into())),
        }
    }

    fn down(&self, reason: String) -> RedisDown {
        *self.failed_at.lock().expect("never poisoned") = Some(self.clock.now());
        RedisDown(format!("Redis is unreachable: {reason}"))
    }

    /// Runs one command within the timeout, forgetting a broken connection.
    pub async fn command<T>(
        &self,
        run: impl FnOnce(ConnectionManager) -> BoxFuture<'static, redis::RedisResult<T>>,
    ) -> Result<T, RedisDown> {
        let connection = self.connection().await?;
        match tokio::time::timeout(self.timeout, run(connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    *self.connection.lock().await = None;
                }
                Err(self.down(e.to_string()))
            }
            Err(_) => {
                *self.connection.lock().await = None;
                Err(self.down("no answer in time".into()))
            }
        }
    }
}
