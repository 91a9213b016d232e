//! The same orders over gRPC, reachable from a browser through gRPC-Web:
//! `POST /labs/api/grpc/workbench.shop.v1.Shop/ListOrders`.
//!
//! The service, in protobuf's own language (nothing compiles this text:
//! the messages below are written with prost's derives, and the one
//! method is routed by hand, so no `protoc` is needed):
//!
//! ```proto
//! syntax = "proto3";
//! package workbench.shop.v1;
//!
//! service Shop {
//!   rpc ListOrders(ListOrdersRequest) returns (ListOrdersReply);
//! }
//! message ListOrdersRequest { uint32 first = 1; }          // 1 to 20; 0 means 5
//! message ListOrdersReply { repeated Order orders = 1; }
//! message Order {
//!   int64 id = 1; string placed_at = 2; string status = 3;
//!   Customer customer = 4; repeated OrderItem items = 5; int64 total_cents = 6;
//! }
//! message Customer { int64 id = 1; string name = 2; string city = 3; string country = 4; }
//! message OrderItem { Product product = 1; int64 quantity = 2; int64 unit_price_cents = 3; }
//! message Product { int64 id = 1; string name = 2; int64 price_cents = 3; }
//! ```
//!
//! A gRPC-Web body is frames: a flag byte (0 for a message), the length as
//! four big-endian bytes, then the message. The answer is a message frame
//! then a trailers frame (flag `0x80`) holding `grpc-status:0`. Errors,
//! including a frame cut short, are HTTP `200` with `grpc-status` and
//! `grpc-message` headers and no body, as gRPC-Web defines them.

use std::convert::Infallible;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tonic::{Code, Status};
use tower::{Layer, ServiceExt};

use super::problem::{ApiProblem, Kind};
use super::related::{self, FullOrder};
use super::shop::in_shop;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::Labs;
use crate::students::StudentId;

/// Largest request message accepted: a request is a few bytes.
const MAX_REQUEST_BYTES: usize = 1024;
/// Most orders one call returns.
const MAX_FIRST: u32 = 20;

/// `ListOrders`'s request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListOrdersRequest {
    /// How many of the newest orders (1 to 20; 0 means 5).
    #[prost(uint32, tag = "1")]
    pub first: u32,
}

/// `ListOrders`'s answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListOrdersReply {
    /// Newest first.
    #[prost(message, repeated, tag = "1")]
    pub orders: Vec<Order>,
}

/// An order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Order {
    /// Its id.
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// When it was placed.
    #[prost(string, tag = "2")]
    pub placed_at: String,
    /// Its status.
    #[prost(string, tag = "3")]
    pub status: String,
    /// Who ordered.
    #[prost(message, optional, tag = "4")]
    pub customer: Option<Customer>,
    /// Its lines.
    #[prost(message, repeated, tag = "5")]
    pub items: Vec<OrderItem>,
    /// The sum of quantity × unit price over the lines.
    #[prost(int64, tag = "6")]
    pub total_cents: i64,
}

/// A customer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Customer {
    /// Its id.
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// Their name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Their city, empty when unknown.
    #[prost(string, tag = "3")]
    pub city: String,
    /// Their country.
    #[prost(string, tag = "4")]
    pub country: String,
}

/// One line of an order.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OrderItem {
    /// The product.
    #[prost(message, optional, tag = "1")]
    pub product: Option<Product>,
    /// How many.
    #[prost(int64, tag = "2")]
    pub quantity: i64,
    /// The price when the order was placed, in cents.
    #[prost(int64, tag = "3")]
    pub unit_price_cents: i64,
}

/// A product.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Product {
    /// Its id.
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Its price today, in cents.
    #[prost(int64, tag = "3")]
    pub price_cents: i64,
}

impl From<FullOrder> for Order {
    fn from(order: FullOrder) -> Self {
        Self {
            id: order.id,
            total_cents: order.total_cents(),
            placed_at: order.placed_at,
            status: order.status,
            customer: Some(Customer {
                id: order.customer.id,
                name: order.customer.name,
                city: order.customer.city.unwrap_or_default(),
                country: order.customer.country,
            }),
            items: order
                .items
                .into_iter()
                .map(|line| OrderItem {
                    product: Some(Product {
                        id: line.product.id,
                        name: line.product.name,
                        price_cents: line.product.price_cents,
                    }),
                    quantity: line.quantity,
                    unit_price_cents: line.unit_price_cents,
                })
                .collect(),
        }
    }
}

/// The method itself.
async fn list_orders(
    labs: Labs,
    student: StudentId,
    inspector: Inspector,
    request: tonic::Request<ListOrdersRequest>,
) -> Result<tonic::Response<ListOrdersReply>, Status> {
    let first = match request.get_ref().first {
        0 => 5,
        n if n <= MAX_FIRST => n,
        n => {
            return Err(Status::invalid_argument(format!(
                "first must be between 1 and {MAX_FIRST}, not {n}"
            )))
        }
    };
    let orders = in_shop(&labs, &student, move |db| {
        related::full_orders(db, first as usize, None)
    })
    .await
    .map_err(|e| Status::new(Code::FailedPrecondition, e.to_string()))?;
    inspector.record(&Called {
        method: "workbench.shop.v1.Shop/ListOrders",
        orders: orders.len(),
    });
    Ok(tonic::Response::new(ListOrdersReply {
        orders: orders.into_iter().map(Order::from).collect(),
    }))
}

/// The inspector's record of a call.
#[derive(serde::Serialize)]
struct Called {
    method: &'static str,
    orders: usize,
}

impl LabEvent for Called {
    const KIND: &'static str = "api.grpc.call";
    fn summary(&self) -> String {
        format!("{} answered {} orders", self.method, self.orders)
    }
}

/// `POST /labs/api/grpc/workbench.shop.v1.Shop/ListOrders`, in gRPC-Web.
#[utoipa::path(post, path = "/grpc/workbench.shop.v1.Shop/ListOrders", operation_id = "grpc_list_orders",
    summary = "The newest orders with their customers and products, over gRPC-Web",
    description = "A gRPC-Web call (`Content-Type: application/grpc-web+proto`): the body is one frame holding a protobuf `ListOrdersRequest`. The answer is HTTP 200 whatever happened: a `ListOrdersReply` frame and a trailers frame on success, or `grpc-status` and `grpc-message` headers and no body on an error (3 for a bad `first`, 13 for a frame cut short or bad protobuf). Other content types are refused with 415. The service's protobuf definition is in the lesson.",
    request_body(description = "gRPC-Web frames: flag byte, 4-byte big-endian length, protobuf message", content = Vec<u8>, content_type = "application/grpc-web+proto"),
    responses(
        (status = 200, description = "gRPC-Web frames, or an error in the headers", body = Vec<u8>, content_type = "application/grpc-web+proto",
            headers(("grpc-status" = Option<u32>, description = "gRPC's status code, here when the call failed (0 is OK, in the trailers frame)"),
                ("grpc-message" = Option<String>, description = "What went wrong, percent-encoded"))),
        (status = 415, description = "Not a gRPC-Web request", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_orders_web(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    request: Request,
) -> Response {
    if !is_grpc_web(request.headers()) {
        return ApiProblem::new(
            Kind::NotGrpcWeb,
            "Send Content-Type: application/grpc-web+proto and a body of gRPC-Web frames.",
        )
        .answer(&inspector);
    }
    let grpc = tower::service_fn(move |request: http::Request<tonic::body::Body>| {
        let (labs, student, inspector) = (labs.clone(), student.id.clone(), inspector.clone());
        async move {
            let method = tower::service_fn(move |call: tonic::Request<ListOrdersRequest>| {
                list_orders(labs.clone(), student.clone(), inspector.clone(), call)
            });
            let mut server = tonic::server::Grpc::new(tonic_prost::ProstCodec::<
                ListOrdersReply,
                ListOrdersRequest,
            >::default())
            .max_decoding_message_size(MAX_REQUEST_BYTES);
            Ok::<_, Infallible>(server.unary(method, request).await)
        }
    });
    match tonic_web::GrpcWebLayer::new()
        .layer(grpc)
        .oneshot(request)
        .await
    {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// Whether the request says it is gRPC-Web in binary (the text variant,
/// base64, is for clients that cannot send bytes; browsers can).
fn is_grpc_web(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v, "application/grpc-web" | "application/grpc-web+proto"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_request_is_a_few_bytes_on_the_wire() {
        let bytes = ListOrdersRequest { first: 5 }.encode_to_vec();
        assert_eq!(bytes, [0x08, 0x05], "field 1, varint 5");
        let reply = ListOrdersReply {
            orders: vec![Order {
                id: 7,
                status: "placed".into(),
                ..Order::default()
            }],
        };
        let decoded = ListOrdersReply::decode(reply.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, reply);
    }
}
