//! Every 401 says how to authenticate: a `WWW-Authenticate` challenge, as
//! RFC 9110 (section 15.5.2) requires. The sweep sends each request that
//! answers 401, in the labs and on the platform, and checks the challenge;
//! it also checks that every lab route whose OpenAPI description lists a
//! 401 is in the sweep, so a new one cannot be forgotten.

use std::collections::BTreeSet;

use crate::common::TestServer;
use reqwest::Method;
use serde_json::{json, Value};

const LAB: &str = "Bearer realm=\"workbench-lab\"";
const LAB_TOKEN_REFUSED: &str = "Bearer realm=\"workbench-lab\", error=\"invalid_token\"";
const LAB_API_KEY: &str = "ApiKey realm=\"workbench-lab\", header=\"X-Api-Key\"";
const ACCOUNT: &str =
    "Cookie realm=\"workbench\", form-action=\"/auth/signin\", cookie-name=workbench_session";
const API_TOKEN: &str = "Bearer realm=\"workbench\"";
const API_TOKEN_REFUSED: &str = "Bearer realm=\"workbench\", error=\"invalid_token\"";

/// One request that must be answered 401 with `challenge`.
struct Probe {
    method: Method,
    /// The route as the OpenAPI document names it (labs only).
    route: Option<&'static str>,
    path: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<Value>,
    challenge: &'static str,
}

fn probe(method: Method, path: &str, challenge: &'static str) -> Probe {
    Probe {
        method,
        route: None,
        path: path.to_string(),
        headers: Vec::new(),
        body: None,
        challenge,
    }
}

impl Probe {
    /// A lab route, named as the OpenAPI document names it.
    fn lab(method: Method, route: &'static str, path: &str, challenge: &'static str) -> Self {
        Self {
            route: Some(route),
            ..probe(method, path, challenge)
        }
    }

    fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn what(&self) -> String {
        format!("{} {} {:?}", self.method, self.path, self.headers)
    }
}

/// Every request the sweep sends, with the challenge it must get;
/// `product` is a product in the auth lab's shop (the lab says 404 for a
/// product that is not there before it asks who you are).
fn probes(product: i64) -> Vec<Probe> {
    let authorize = "/labs/auth/oauth/authorize?client_id=demo-shop&redirect_uri=%2Flabs%2Fauth%2Foauth%2Fcallback&response_type=code&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=xyz";
    vec![
        // The auth lab's demo shop: nobody signed in, or refused credentials.
        Probe::lab(Method::POST, "/labs/auth/login", "/labs/auth/login", LAB)
            .json(json!({"username": "nobody", "password": "not the password"})),
        Probe::lab(
            Method::POST,
            "/labs/auth/refresh",
            "/labs/auth/refresh",
            LAB,
        )
        .json(json!({"refresh_token": "never-issued"})),
        Probe::lab(Method::GET, "/labs/auth/me", "/labs/auth/me", LAB),
        Probe::lab(
            Method::GET,
            "/labs/auth/me",
            "/labs/auth/me",
            LAB_TOKEN_REFUSED,
        )
        .header("authorization", "Bearer not-a-real-token"),
        Probe::lab(
            Method::POST,
            "/labs/auth/totp/enrol",
            "/labs/auth/totp/enrol",
            LAB,
        ),
        Probe::lab(
            Method::POST,
            "/labs/auth/totp/confirm",
            "/labs/auth/totp/confirm",
            LAB,
        )
        .json(json!({"code": "123456"})),
        Probe::lab(Method::GET, "/labs/auth/oauth/authorize", authorize, LAB),
        Probe::lab(
            Method::GET,
            "/labs/auth/products",
            "/labs/auth/products",
            LAB,
        ),
        Probe::lab(
            Method::POST,
            "/labs/auth/products",
            "/labs/auth/products",
            LAB_TOKEN_REFUSED,
        )
        .header("authorization", "Bearer not-a-real-token")
        .json(json!({"name": "teapot"})),
        Probe::lab(
            Method::DELETE,
            "/labs/auth/products/{id}",
            &format!("/labs/auth/products/{product}"),
            LAB,
        ),
        Probe::lab(
            Method::POST,
            "/labs/auth/products/{id}/buy",
            &format!("/labs/auth/products/{product}/buy"),
            LAB,
        ),
        Probe::lab(
            Method::POST,
            "/labs/auth/users/{username}/ban",
            "/labs/auth/users/ada/ban",
            LAB,
        ),
        // The rate-limit lab counting per key, asked without one.
        Probe::lab(
            Method::GET,
            "/labs/ratelimit/api/ping",
            "/labs/ratelimit/api/ping",
            LAB_API_KEY,
        ),
        Probe::lab(
            Method::GET,
            "/labs/ratelimit/api/items",
            "/labs/ratelimit/api/items",
            LAB_API_KEY,
        ),
        // The gateway lab's front door requiring a key, asked without one.
        Probe::lab(
            Method::GET,
            "/labs/gateway/catalog/items/{id}",
            "/labs/gateway/catalog/items/1",
            LAB_API_KEY,
        ),
        // The HTTP lab's 401 on request.
        Probe::lab(
            Method::GET,
            "/labs/http/status/{code}",
            "/labs/http/status/401",
            LAB,
        ),
        // The platform: its account routes, and the grading API's tokens.
        probe(Method::GET, "/api/me", ACCOUNT),
        // A page for signed-in readers, asked for signed out.
        probe(Method::GET, "/account", ACCOUNT),
        probe(Method::GET, "/api/instructor/classes", ACCOUNT),
        probe(Method::POST, "/auth/signin", ACCOUNT)
            .json(json!({"email": "nobody@example.com", "password": "not the password"})),
        probe(Method::POST, "/auth/password", ACCOUNT).json(
            json!({"current_password": "not the password", "new_password": "a new long password"}),
        ),
        probe(Method::POST, "/auth/signout-everywhere", ACCOUNT).json(json!({})),
        probe(Method::POST, "/api/grade", API_TOKEN).json(json!({"submissions": []})),
        probe(Method::POST, "/api/grade", API_TOKEN_REFUSED)
            .header("authorization", "Bearer wbt_nope_nope")
            .json(json!({"submissions": []})),
    ]
}

/// Sends `body` to `path` as `client`, expecting `status`; the answer's JSON.
async fn post(
    server: &TestServer,
    client: &reqwest::Client,
    path: &str,
    body: Value,
    status: u16,
) -> Value {
    let response = client
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), status, "{path}");
    response.json().await.unwrap_or(Value::Null)
}

/// A guest whose rate limiter counts per API key and whose gateway wants
/// one, whose auth lab shop has
/// one product (its id), and who is signed out of that shop again.
async fn prepared_guest(server: &TestServer) -> (reqwest::Client, i64) {
    let guest = server.browser();
    let saved = guest
        .put(server.url("/labs/ratelimit/settings"))
        .json(&json!({"key": "api_key"}))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200, "{}", saved.text().await.unwrap());
    let keyed = guest
        .put(server.url("/labs/gateway/settings"))
        .json(&json!({"require_api_key": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 200, "{}", keyed.text().await.unwrap());
    let sam = json!({"username": "sam", "password": "pw", "role": "seller"});
    post(server, &guest, "/labs/auth/users", sam, 201).await;
    let sam = json!({"username": "sam", "password": "pw"});
    post(server, &guest, "/labs/auth/login", sam, 200).await;
    let teapot = json!({"name": "teapot"});
    let product = post(server, &guest, "/labs/auth/products", teapot, 201).await;
    post(server, &guest, "/labs/auth/logout", json!({}), 204).await;
    (guest, product["id"].as_i64().unwrap())
}

#[tokio::test]
async fn every_401_carries_a_challenge_that_says_how_to_authenticate() {
    let server = TestServer::start().await;
    let (guest, product) = prepared_guest(&server).await;
    for probe in probes(product) {
        let mut request = guest.request(probe.method.clone(), server.url(&probe.path));
        for (name, value) in &probe.headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = &probe.body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let challenges: Vec<String> = response
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let body = response.text().await.unwrap();
        assert_eq!(status, 401, "{}: {body}", probe.what());
        assert_eq!(challenges, [probe.challenge], "{}", probe.what());
    }
}

#[tokio::test]
async fn a_challenge_the_student_asks_for_replaces_the_labs_own() {
    let server = TestServer::start().await;
    let response = server
        .get("/labs/http/status/401?header=WWW-Authenticate:%20Bearer%20realm%3D%22shop%22")
        .await;
    assert_eq!(response.status(), 401);
    let challenges: Vec<_> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .collect();
    assert_eq!(challenges, ["Bearer realm=\"shop\""]);
    let ok = server.get("/labs/http/status/403").await;
    assert!(
        ok.headers().get("www-authenticate").is_none(),
        "a 403 asks for nothing: no credentials would help"
    );
}

#[tokio::test]
async fn every_lab_route_that_documents_a_401_is_swept_and_documents_its_challenge() {
    let server = TestServer::start().await;
    let document: Value = server.get("/api/openapi.json").await.json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (route, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let unauthorized = &operation["responses"]["401"];
            if unauthorized.is_object() {
                assert!(
                    unauthorized["headers"]["WWW-Authenticate"].is_object(),
                    "{method} {route} documents its 401's challenge"
                );
                documented.insert(format!("{} {route}", method.to_uppercase()));
            }
        }
    }
    let swept: BTreeSet<String> = probes(1)
        .iter()
        .filter_map(|p| p.route.map(|route| format!("{} {route}", p.method)))
        .collect();
    let missing: Vec<_> = documented.difference(&swept).collect();
    assert!(
        missing.is_empty(),
        "routes that document a 401 but are not swept: {missing:?}"
    );
}
