//! Active health checks: while a student's gateway is used, a round of
//! checks is due every `health_every_ms` (on the lab's clock). The request
//! that finds it due starts it in the background, so no request waits for
//! it: each replica's `GET /health` is asked once, within the per-try
//! timeout, and the answers eject or return replicas ([`Health`]).
//!
//! A replica's health check is shallow, as most are: it passes when the
//! process answers at all. A replica that is killed or hangs fails it; one
//! that answers 503 to a share of real requests, or is slow, passes. The
//! circuit breakers (which watch real requests) catch those.

use std::sync::Arc;
use std::time::Duration;

use model::labs::gateway::GatewaySettings;

use super::replicas::{Replica, TOKEN_HEADER};
use super::{Gateway, StudentGateway};

impl StudentGateway {
    /// Starts a round of checks if one is due.
    pub(super) fn check_health_if_due(
        self: &Arc<Self>,
        gateway: &Gateway,
        replicas: &[Arc<Replica>],
        settings: &GatewaySettings,
    ) {
        if !settings.health_checks {
            return;
        }
        let now_ms = self.now_ms();
        {
            let mut steering = self.steer();
            match steering.next_check_ms {
                Some(due) if now_ms >= due => steering.next_check_ms = None,
                _ => return,
            }
        }
        let mine = self.clone();
        let client = gateway.client.clone();
        let token = gateway.token.clone();
        let replicas: Vec<_> = replicas
            .iter()
            .take(usize::from(settings.replicas))
            .cloned()
            .collect();
        let timeout = Duration::from_millis(u64::from(
            settings.per_try_timeout_ms.min(settings.health_every_ms),
        ));
        let (every_ms, eject_after, return_after) = (
            u64::from(settings.health_every_ms),
            u32::from(settings.eject_after),
            u32::from(settings.return_after),
        );
        tokio::spawn(async move {
            let checks = replicas.iter().map(|replica| {
                let request = client
                    .get(format!("http://127.0.0.1:{}/health", replica.port()))
                    .header(TOKEN_HEADER, &token)
                    .timeout(timeout)
                    .send();
                async move { request.await.is_ok_and(|r| r.status().is_success()) }
            });
            let passed = futures_util::future::join_all(checks).await;
            let mut steering = mine.steer();
            for (health, passed) in steering.health.iter_mut().zip(passed) {
                health.record(passed, eject_after, return_after);
            }
            steering.next_check_ms = Some(mine.now_ms() + every_ms);
            steering.health_rounds += 1;
        });
    }
}
