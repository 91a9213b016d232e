//! The API lab's other styles: the same orders as REST with `?include=`,
//! as GraphQL, and as gRPC over gRPC-Web, and what each refuses.

use engine::labs::api::grpc::{ListOrdersReply, ListOrdersRequest};
use prost::Message;
use serde_json::{json, Value};

use crate::common::TestServer;

const GRPC_LIST_ORDERS: &str = "/labs/api/grpc/workbench.shop.v1.Shop/ListOrders";

/// One gRPC-Web frame around `message`.
fn frame(message: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0];
    bytes.extend_from_slice(&(message.len() as u32).to_be_bytes());
    bytes.extend_from_slice(message);
    bytes
}

/// The frames of a gRPC-Web body: (flag, payload) pairs.
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while body.len() >= 5 {
        let length = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        frames.push((body[0], body[5..5 + length].to_vec()));
        body = &body[5 + length..];
    }
    assert!(body.is_empty(), "a frame was cut short");
    frames
}

async fn grpc_call(
    server: &TestServer,
    client: &reqwest::Client,
    body: Vec<u8>,
) -> reqwest::Response {
    client
        .post(server.url(GRPC_LIST_ORDERS))
        .header("content-type", "application/grpc-web+proto")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn graphql(server: &TestServer, client: &reqwest::Client, query: &str) -> reqwest::Response {
    client
        .post(server.url("/labs/api/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn rest_graphql_and_grpc_serve_the_same_orders() {
    let server = TestServer::start().await;
    let client = server.browser();

    let page: Value = server
        .json(
            &client,
            "/labs/api/orders?per_page=3&include=customer,items",
        )
        .await;
    let rest_ids: Vec<i64> = page["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    let included = &page["included"];
    let customer_of_first = page["orders"][0]["customer_id"].as_i64().unwrap();
    assert!(included["customers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == customer_of_first));
    let rest_total: i64 = included["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["order_id"] == rest_ids[0])
        .map(|l| l["quantity"].as_i64().unwrap() * l["unit_price_cents"].as_i64().unwrap())
        .sum();
    assert!(!included["products"].as_array().unwrap().is_empty());
    assert!(
        page["links"]["next"]
            .as_str()
            .unwrap()
            .ends_with("&include=customer,items"),
        "the next page keeps the include"
    );
    let customer: Value = server
        .json(&client, &format!("/labs/api/customers/{customer_of_first}"))
        .await;
    assert_eq!(
        customer,
        included["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == customer_of_first)
            .unwrap()
            .clone()
    );

    let answer = graphql(
        &server,
        &client,
        "{ orders(first: 3) { id totalCents customer { id name } items { quantity product { name } } } }",
    )
    .await;
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    let orders = answer["data"]["orders"].as_array().unwrap();
    let graphql_ids: Vec<i64> = orders.iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(graphql_ids, rest_ids);
    assert_eq!(orders[0]["totalCents"].as_i64().unwrap(), rest_total);
    assert_eq!(orders[0]["customer"]["name"], customer["name"]);

    let response = grpc_call(
        &server,
        &client,
        frame(&ListOrdersRequest { first: 3 }.encode_to_vec()),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/grpc-web+proto"
    );
    let body = response.bytes().await.unwrap();
    let frames = frames(&body);
    assert_eq!(frames.len(), 2, "a message, then the trailers");
    let reply = ListOrdersReply::decode(frames[0].1.as_slice()).unwrap();
    let grpc_ids: Vec<i64> = reply.orders.iter().map(|o| o.id).collect();
    assert_eq!(grpc_ids, rest_ids);
    assert_eq!(reply.orders[0].total_cents, rest_total);
    assert_eq!(frames[1].0, 0x80);
    assert_eq!(String::from_utf8_lossy(&frames[1].1), "grpc-status:0\r\n");
    server.stop().await;
}

#[tokio::test]
async fn graphql_refuses_deep_costly_and_broken_queries_before_running_them() {
    let server = TestServer::start().await;
    let client = server.browser();
    let deep = "{ orders { customer { orders { customer { orders { customer { name } } } } } } }";
    let costly =
        "{ orders(first: 20) { customer { orders(first: 20) { items { product { name } } } } } }";
    for (query, message) in [
        (deep, "Query is nested too deep."),
        (costly, "Query is too complex."),
        ("{ orders { ", "expected"),
        ("{ sellers { name } }", "sellers"),
    ] {
        let response = graphql(&server, &client, query).await;
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(
            problem["type"],
            "/labs/api/problems/graphql-request-refused"
        );
        let detail = problem["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.contains(message), "{query}: {detail}");
    }
    // A field that fails at run time is GraphQL's own error, beside the data.
    let response = graphql(&server, &client, "{ orders(first: 50) { id } }").await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["errors"][0]["path"], json!(["orders"]));
    // Bodies that are not a GraphQL request at all.
    for (body, content_type) in [
        ("not json", "application/json"),
        (r#"{"query": 7}"#, "application/json"),
        (r#"{"query": "{ orders { id } }"}"#, "text/plain"),
    ] {
        let response = client
            .post(server.url("/labs/api/graphql"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{body}: {}",
            response.status()
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let schema = server.text(&client, "/labs/api/graphql/schema").await;
    assert!(schema.contains("type Order"), "{schema}");
    server.stop().await;
}

#[tokio::test]
async fn grpc_web_errors_are_grpc_statuses_and_other_requests_are_refused() {
    let server = TestServer::start().await;
    let client = server.browser();
    let status_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let truncated = grpc_call(&server, &client, vec![0, 0, 0, 0, 5, 8]).await;
    assert_eq!(truncated.status(), 200);
    assert_eq!(status_of(&truncated).as_deref(), Some("13"));
    let too_many = grpc_call(
        &server,
        &client,
        frame(&ListOrdersRequest { first: 99 }.encode_to_vec()),
    )
    .await;
    assert_eq!(
        status_of(&too_many).as_deref(),
        Some("3"),
        "INVALID_ARGUMENT"
    );
    let garbage = grpc_call(&server, &client, frame(&[0xff, 0xff, 0xff])).await;
    assert_eq!(status_of(&garbage).as_deref(), Some("13"));
    let huge = grpc_call(&server, &client, frame(&vec![0; 4096])).await;
    assert_eq!(
        status_of(&huge).as_deref(),
        Some("11"),
        "OUT_OF_RANGE: over the size limit"
    );

    let not_grpc = client
        .post(server.url(GRPC_LIST_ORDERS))
        .json(&json!({"first": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(not_grpc.status(), 415);
    let problem: Value = not_grpc.json().await.unwrap();
    assert_eq!(problem["type"], "/labs/api/problems/not-grpc-web");

    for (path, kind) in [
        (
            "/labs/api/customers/999999",
            "/labs/api/problems/resource-not-found",
        ),
        (
            "/labs/api/products/999999",
            "/labs/api/problems/resource-not-found",
        ),
        (
            "/labs/api/orders?include=sellers",
            "/labs/api/problems/invalid-query",
        ),
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert!(response.status().is_client_error(), "{path}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["type"], kind, "{path}");
    }
    server.stop().await;
}
