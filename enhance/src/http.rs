//! Requests from the page with the browser's `fetch`, read back as far as
//! the page may see them. The app's lab widgets send theirs the same way.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// One exchange as the browser saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Exchange {
    /// The response's status code.
    pub status: u16,
    /// The status line's reason phrase, as the browser gives it.
    pub status_text: String,
    /// The response headers the page may read, in order.
    pub headers: Vec<(String, String)>,
    /// The response body as text.
    pub body: String,
    /// From sending to the whole body read, as the page measured it.
    pub elapsed_us: u64,
    /// Where the browser ended up, when it followed a redirect.
    pub redirected_to: Option<String>,
    /// The inspector's id for this request, from `traceresponse`.
    pub trace_id: Option<String>,
}

/// A request as a student wrote it.
pub struct Outgoing<'a> {
    /// Request method, e.g. `GET`.
    pub method: &'a str,
    /// Same-origin path and query.
    pub url: &'a str,
    /// Header lines in order.
    pub headers: &'a [(String, String)],
    /// Request body, empty for none.
    pub body: &'a str,
}

/// Sends the request and times it from the page's point of view.
pub async fn send(request: Outgoing<'_>) -> Result<Exchange, String> {
    let headers = Headers::new().map_err(describe)?;
    for (name, value) in request.headers {
        headers.append(name, value).map_err(|e| {
            let mut message = String::from("The browser refused the header \u{201c}");
            message.push_str(name);
            message.push_str("\u{201d}: ");
            message.push_str(&describe(e));
            message
        })?;
    }
    let init = RequestInit::new();
    init.set_method(request.method);
    init.set_headers(&headers);
    // The widgets show what the server does; the browser's own HTTP cache
    // answering in its place would hide exactly that.
    init.set_cache(web_sys::RequestCache::NoStore);
    if !request.body.is_empty() && !matches!(request.method, "GET" | "HEAD") {
        init.set_body(&JsValue::from_str(request.body));
    }
    let window = web_sys::window().ok_or("This page has no window.")?;
    let performance = window.performance();
    let started = performance.as_ref().map(|p| p.now()).unwrap_or_default();
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(request.url, &init))
        .await
        .map_err(|e| unreachable_server("The request did not reach the server: ", e))?
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

/// Calls one of the workbench's own JSON APIs; the answer's status and body.
pub async fn call_api(
    method: &str,
    url: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
    call_api_until(method, url, body, None).await
}

/// [`call_api`], given up (with an error) when `abort` is signalled: for
/// requests the server holds open, such as a long poll.
pub async fn call_api_until(
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
    let window = web_sys::window().ok_or("This page has no window.")?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| unreachable_server("The server could not be reached: ", e))?
        .unchecked_into();
    Ok((response.status(), body_text(&response).await?))
}

/// Reads the whole response body as text.
pub async fn body_text(response: &Response) -> Result<String, String> {
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

fn unreachable_server(prefix: &str, error: JsValue) -> String {
    let mut message = String::from(prefix);
    message.push_str(&describe(error));
    message
}

/// A JavaScript error as a sentence.
pub fn describe(error: JsValue) -> String {
    Reflect::get(&error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".to_string())
}
