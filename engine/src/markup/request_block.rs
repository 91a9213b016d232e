//! The ```` ```http ```` block: a request written as it goes on the wire,
//! parsed into the template the request widget starts from.
//!
//! ```text
//! POST /labs/http/echo HTTP/1.1
//! Content-Type: application/json
//!
//! {"hello": "world"}
//! ```

use model::RequestTemplate;

/// Methods the widget can send from a browser.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Parses a request block whose first line is line `first_line` of the file.
/// Errors are `(line, message)`.
pub(crate) fn parse(
    text: &str,
    first_line: usize,
) -> Result<RequestTemplate, Vec<(usize, String)>> {
    let mut errors = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (first_line + i, l))
        .skip_while(|(_, l)| l.trim().is_empty());
    let Some((request_line_no, request_line)) = lines.next() else {
        return Err(vec![(
            first_line,
            "an http block needs a request line such as `GET /labs/http/echo`".into(),
        )]);
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let url = parts.next().unwrap_or_default().to_string();
    if !METHODS.contains(&method.as_str()) {
        errors.push((
            request_line_no,
            format!(
                "unknown method `{method}`: use one of {}",
                METHODS.join(", ")
            ),
        ));
    }
    if !url.starts_with('/') || url.starts_with("//") {
        errors.push((request_line_no, format!("the widget sends requests to this server: write a path such as `/labs/http/echo`, not `{url}`")));
    }
    match parts.next() {
        None | Some("HTTP/1.1") | Some("HTTP/2") => {}
        Some(other) => errors.push((
            request_line_no,
            format!(
                "unexpected `{other}` after the URL: the request line is `METHOD /path [HTTP/1.1]`"
            ),
        )),
    }

    let mut headers = Vec::new();
    let mut body_lines = Vec::new();
    let mut in_body = false;
    for (line_no, line) in lines {
        if in_body {
            body_lines.push(line);
        } else if line.trim().is_empty() {
            in_body = true;
        } else if let Some((name, value)) = line.split_once(':').filter(|(n, _)| is_token(n)) {
            headers.push((name.to_string(), value.trim().to_string()));
        } else {
            errors.push((line_no, format!("`{line}` is not a header: write `Name: value`, and leave a blank line before the body")));
        }
    }
    let body = body_lines.join("\n").trim_end().to_string();
    if !body.is_empty() && matches!(method.as_str(), "GET" | "HEAD") {
        errors.push((
            request_line_no,
            format!("browsers cannot send a body with {method}: use POST, PUT or PATCH"),
        ));
    }
    if errors.is_empty() {
        Ok(RequestTemplate {
            method,
            url,
            headers,
            body,
        })
    } else {
        Err(errors)
    }
}

/// An HTTP token (RFC 9110 section 5.6.2), as header names must be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_request_becomes_a_template() {
        let t = parse("POST /labs/http/echo HTTP/1.1\nContent-Type: application/json\nX-Demo: yes\n\n{\"a\": 1}\n", 10).unwrap();
        assert_eq!(t.method, "POST");
        assert_eq!(t.url, "/labs/http/echo");
        assert_eq!(
            t.headers,
            vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Demo".into(), "yes".into())
            ]
        );
        assert_eq!(t.body, "{\"a\": 1}");
    }

    #[test]
    fn errors_name_the_line_they_are_on() {
        let errors = parse("GET /labs/http/echo\nnot a header\n", 20).unwrap_err();
        assert_eq!(errors, vec![(21, "`not a header` is not a header: write `Name: value`, and leave a blank line before the body".to_string())]);
    }

    #[test]
    fn unknown_methods_and_foreign_urls_are_refused() {
        let errors = parse("FETCH https://example.com/\n", 1).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].1.contains("unknown method"));
        assert!(errors[1].1.contains("this server"));
    }

    #[test]
    fn a_get_with_a_body_is_refused() {
        let errors = parse("GET /labs/http/echo\n\nbody\n", 1).unwrap_err();
        assert!(errors[0].1.contains("cannot send a body"));
    }
}
