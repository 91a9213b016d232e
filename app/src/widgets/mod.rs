//! The widgets: the request widget, the exercise card and the trace panel
//! (plain HTML that the enhancer, crate `enhance`, wakes up), and the
//! interactive islands (the labs' consoles, the theme switch), the only
//! components Leptos hydrates in the browser.
//!
//! A lab's own controls are registered in [`LAB_WIDGETS`], one line each,
//! under the name lessons embed them by (```` ```widget <name> ````).

pub(crate) mod api;
pub(crate) mod cache;
pub(crate) mod exercise;
#[cfg(feature = "hydrate")]
mod fetch;
pub(crate) mod gateway;
pub(crate) mod hashes;
pub(crate) mod jobs;
mod json;
pub(crate) mod observe;
pub(crate) mod permissions;
pub(crate) mod queue;
pub(crate) mod ratelimit;
pub(crate) mod realtime;
pub(crate) mod realtime_chat;
pub(crate) mod recent;
pub(crate) mod request;
pub(crate) mod settings_draft;
pub(crate) mod shop;
pub(crate) mod sql;
pub(crate) mod sql_lab;
pub(crate) mod styles;
pub(crate) mod testing;
pub(crate) mod theme;
pub(crate) mod transport;

use leptos::prelude::*;

/// The enhancer module's path, as a literal so `concat!` can use it.
macro_rules! enhancer_module {
    () => {
        "/pkg/enhance.js"
    };
}

/// The enhancer's JavaScript module (built by `scripts/build-enhance.sh`).
pub const ENHANCER_MODULE: &str = enhancer_module!();
/// The enhancer's wasm, which its module fetches.
pub const ENHANCER_WASM: &str = "/pkg/enhance_bg.wasm";
/// The inline script that starts the enhancer.
pub(crate) const ENHANCER_START: &str =
    concat!("import start from \"", enhancer_module!(), "\"; start();");

/// A lab's own control, as lessons embed it by name.
pub struct LabWidget {
    /// The name in ```` ```widget <name> ```` blocks.
    pub name: &'static str,
    /// The lab whose routes it calls (a registered lab's `NAME`).
    pub lab: &'static str,
    render: fn() -> AnyView,
}

/// Every lab widget. The registry: a lab's widget adds one line here.
pub const LAB_WIDGETS: &[LabWidget] = &[
    LabWidget {
        name: "recent-requests",
        lab: "http",
        render: || view! { <recent::RecentRequests/> }.into_any(),
    },
    LabWidget {
        name: "permission-matrix",
        lab: "auth",
        render: || view! { <permissions::PermissionMatrix/> }.into_any(),
    },
    LabWidget {
        name: "hash-inspector",
        lab: "auth",
        render: || view! { <hashes::HashInspector/> }.into_any(),
    },
    LabWidget {
        name: "sql-schema",
        lab: "sql",
        render: || view! { <sql_lab::SqlSchema/> }.into_any(),
    },
    LabWidget {
        name: "sql-index-experiment",
        lab: "sql",
        render: || view! { <sql_lab::IndexExperiment/> }.into_any(),
    },
    LabWidget {
        name: "sql-withdrawal",
        lab: "sql",
        render: || view! { <sql_lab::Withdrawal/> }.into_any(),
    },
    LabWidget {
        name: "cache-console",
        lab: "cache",
        render: || view! { <cache::CacheConsole/> }.into_any(),
    },
    LabWidget {
        name: "ratelimit-console",
        lab: "ratelimit",
        render: || view! { <ratelimit::RateLimitConsole/> }.into_any(),
    },
    LabWidget {
        name: "api-pagination-console",
        lab: "api",
        render: || view! { <api::PaginationConsole/> }.into_any(),
    },
    LabWidget {
        name: "api-jobs-console",
        lab: "api",
        render: || view! { <jobs::JobsConsole/> }.into_any(),
    },
    LabWidget {
        name: "api-transport-race",
        lab: "api",
        render: || view! { <transport::TransportRaceConsole/> }.into_any(),
    },
    LabWidget {
        name: "api-styles",
        lab: "api",
        render: || view! { <styles::StylesConsole/> }.into_any(),
    },
    LabWidget {
        name: "realtime-transports",
        lab: "realtime",
        render: || view! { <realtime::RealtimeTransports/> }.into_any(),
    },
    LabWidget {
        name: "realtime-chat",
        lab: "realtime",
        render: || view! { <realtime_chat::RealtimeChat/> }.into_any(),
    },
    LabWidget {
        name: "queue-console",
        lab: "queue",
        render: || view! { <queue::QueueConsole/> }.into_any(),
    },
    LabWidget {
        name: "gateway-console",
        lab: "gateway",
        render: || view! { <gateway::GatewayConsole/> }.into_any(),
    },
    LabWidget {
        name: "order-page",
        lab: "gateway",
        render: || view! { <shop::OrderPageConsole/> }.into_any(),
    },
    LabWidget {
        name: "ratelimit-simulator",
        lab: "ratelimit",
        render: || view! { <ratelimit::RateLimitSimulator/> }.into_any(),
    },
    LabWidget {
        name: "test-suite",
        lab: "testing",
        render: || view! { <testing::TestSuite/> }.into_any(),
    },
    LabWidget {
        name: "test-doubles",
        lab: "testing",
        render: || view! { <testing::TestDoubles/> }.into_any(),
    },
    LabWidget {
        name: "observe-dashboard",
        lab: "observe",
        render: || view! { <observe::ObserveDashboard/> }.into_any(),
    },
    LabWidget {
        name: "fault-hunt",
        lab: "observe",
        render: || view! { <observe::FaultHunt/> }.into_any(),
    },
];

/// The widget lessons call `name`, rendered; a notice if the app has none
/// (the course loader refuses such lessons, so only a stale page shows it).
pub(crate) fn lab_widget(name: &str) -> AnyView {
    match LAB_WIDGETS.iter().find(|widget| widget.name == name) {
        Some(widget) => (widget.render)(),
        None => view! {
            <p class="form-error" role="status">"This lesson embeds a lab widget, \u{201c}" {name.to_string()} "\u{201d}, that this server does not have."</p>
        }
        .into_any(),
    }
}
