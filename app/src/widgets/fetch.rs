//! The browser side of the request widget: sends a request with `fetch` and
//! reads back everything the page is allowed to see of the response.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

use super::request::Exchange;
use crate::model::{RequestTemplate, TraceView};

/// Sends the request and times it from the page's point of view.
pub(crate) async fn send(request: &RequestTemplate) -> Result<Exchange, String> {
    let headers = Headers::new().map_err(describe)?;
    for (name, value) in &request.headers {
        headers.append(name, value).map_err(|e| {
            format!(
                "Header {name:?} was refused by the browser: {}",
                describe(e)
            )
        })?;
    }
    let init = RequestInit::new();
    init.set_method(&request.method);
    init.set_headers(&headers);
    // The widgets show what the server does; the browser's own HTTP cache
    // answering in its place would hide exactly that.
    init.set_cache(web_sys::RequestCache::NoStore);
    if !request.body.is_empty() && !matches!(request.method.as_str(), "GET" | "HEAD") {
        init.set_body(&JsValue::from_str(&request.body));
    }
    let performance = leptos::prelude::window().performance();
    let started = performance.as_ref().map(|p| p.now()).unwrap_or_default();
    let response: Response =
        JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(&request.url, &init))
            .await
            .map_err(|e| format!("The request did not reach the server: {}", describe(e)))?
            .unchecked_into();
    let body = body_text(&response).await?;
    let elapsed_us = ((performance.map(|p| p.now()).unwrap_or_default() - started) * 1000.0) as u64;
    let headers = header_pairs(&response.headers());
    let trace_id = headers
        .iter()
        .find(|(n, _)| n == "traceresponse")
        .and_then(|(_, v)| v.split('-').nth(1))
        .map(str::to_string);
    Ok(Exchange {
        status: response.status(),
        status_text: response.status_text(),
        headers,
        body,
        elapsed_us,
        redirected_to: response.redirected().then(|| response.url()),
        trace_id,
    })
}

/// Fetches the inspector's record of one request.
pub(crate) async fn trace(trace_id: &str) -> Result<TraceView, String> {
    let window = leptos::prelude::window();
    let response: Response =
        JsFuture::from(window.fetch_with_str(&format!("/api/traces/{trace_id}")))
            .await
            .map_err(describe)?
            .unchecked_into();
    let text = body_text(&response).await?;
    if !response.ok() {
        return Err(format!(
            "The trace could not be loaded ({}): {text}",
            response.status()
        ));
    }
    serde_json::from_str(&text).map_err(|e| format!("The trace was not understood: {e}"))
}

/// Calls one of the workbench's own JSON APIs; the answer's status and body.
pub(crate) async fn call_api(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
    call_api_until(method, url, body, None).await
}

/// [`call_api`], given up (with an error) when `abort` is signalled: for
/// requests the server holds open, such as a long poll.
pub(crate) async fn call_api_until(
    method: &str,
    url: &str,
    body: Option<String>,
    abort: Option<&web_sys::AbortSignal>,
) -> Result<(u16, String), String> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_signal(abort);
    if let Some(body) = body {
        let headers = Headers::new().map_err(describe)?;
        headers
            .append("content-type", "application/json")
            .map_err(describe)?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let response: Response =
        JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(url, &init))
            .await
            .map_err(|e| format!("The server could not be reached: {}", describe(e)))?
            .unchecked_into();
    Ok((response.status(), body_text(&response).await?))
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

/// Reads the whole response body as text.
async fn body_text(response: &Response) -> Result<String, String> {
    let text = JsFuture::from(response.text().map_err(describe)?)
        .await
        .map_err(describe)?;
    Ok(text.as_string().unwrap_or_default())
}

fn header_pairs(headers: &Headers) -> Vec<(String, String)> {
    let Ok(Some(entries)) = js_sys::try_iter(headers) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pair: Array = entry.dyn_into().ok()?;
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

fn describe(error: JsValue) -> String {
    Reflect::get(&error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_string())
}
