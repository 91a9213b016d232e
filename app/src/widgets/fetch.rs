//! The labs' islands' requests: the enhancer's `fetch` helpers, and the
//! few only islands need (binary bodies, timers).

pub(crate) use enhance::http::{call_api, call_api_until};
use enhance::http::{describe, Exchange, Outgoing};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

use crate::model::RequestTemplate;

/// Sends the request and times it from the page's point of view.
pub(crate) async fn send(request: &RequestTemplate) -> Result<Exchange, String> {
    enhance::http::send(Outgoing {
        method: &request.method,
        url: &request.url,
        headers: &request.headers,
        body: &request.body,
    })
    .await
}

/// An answer read as bytes, for binary protocols (gRPC-Web).
pub(crate) struct BinaryAnswer {
    pub(crate) status: u16,
    /// The `grpc-status` header, sent when a gRPC call failed.
    pub(crate) grpc_status: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// Sends `body` as `content_type` and reads the answer's bytes.
pub(crate) async fn call_binary(
    url: &str,
    content_type: &str,
    body: &[u8],
) -> Result<BinaryAnswer, String> {
    let headers = Headers::new().map_err(describe)?;
    headers
        .append("content-type", content_type)
        .map_err(describe)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&js_sys::Uint8Array::from(body));
    let response: Response =
        JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(url, &init))
            .await
            .map_err(|e| format!("The server could not be reached: {}", describe(e)))?
            .unchecked_into();
    let buffer = JsFuture::from(response.array_buffer().map_err(describe)?)
        .await
        .map_err(describe)?;
    Ok(BinaryAnswer {
        status: response.status(),
        grpc_status: response.headers().get("grpc-status").ok().flatten(),
        body: js_sys::Uint8Array::new(&buffer).to_vec(),
    })
}

/// Waits `ms` milliseconds without blocking the page.
pub(crate) async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = leptos::prelude::window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since the page loaded, for timing what a widget does.
pub(crate) fn now_ms() -> f64 {
    leptos::prelude::window()
        .performance()
        .map(|p| p.now())
        .unwrap_or_default()
}
