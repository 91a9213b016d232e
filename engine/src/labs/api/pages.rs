//! `GET /labs/api/orders`: a page of orders, newest first, two ways.
//!
//! - **Offset** (`?page=&per_page=`): `LIMIT … OFFSET …`. SQLite reads and
//!   throws away every row before the page, so deep pages cost more, and a
//!   row inserted or deleted in front of the page shifts it: rows repeat or
//!   go missing between pages.
//! - **Cursor** (`?paging=cursor`, then `?after=`): a keyset seek,
//!   `WHERE id < last_seen ORDER BY id DESC`. The primary key finds the
//!   start directly, whatever the depth, and the page starts after the
//!   last row the client saw, whatever changed in front of it.
//!
//! Both answer with RFC 8288 `Link` headers to the neighbouring pages, and
//! record the page's SQL, its plan and SQLite's step counts in the trace.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::BTreeSet;

use model::labs::api::{Included, OrderPage, OrderSummary, PageLinks};
use serde_json::Value;

use super::problem::{ApiProblem, Kind};
use super::shop::{in_shop, integer, query, text, LIMITS};
use super::{related, writer, ApiLab, MAX_PER_PAGE};
use crate::error::ApiError;
use crate::identity::Student;
use crate::inspector::{Inspector, LabEvent};
use crate::labs::sql::engine::{Db, SqlError, StepCounts};
use crate::labs::sql::plan;
use crate::labs::{CurrentSettings, LabState, Labs};

const ORDERS: &str = "/labs/api/orders";
const OFFSET_PAGE: &str =
    "SELECT id, customer_id, placed_at, status FROM orders ORDER BY id DESC LIMIT ? OFFSET ?";
const FIRST_CURSOR_PAGE: &str =
    "SELECT id, customer_id, placed_at, status FROM orders ORDER BY id DESC LIMIT ?";
const CURSOR_PAGE: &str =
    "SELECT id, customer_id, placed_at, status FROM orders WHERE id < ? ORDER BY id DESC LIMIT ?";
const COUNT: &str = "SELECT count(*) FROM orders";
/// Marks a cursor as this API's, so a hand-made one is refused.
const CURSOR_PREFIX: &str = "after:";

/// Which page the client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wanted {
    Offset { page: u32 },
    Cursor { after: Option<i64> },
}

/// What `?include=` asks to add to the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Include {
    customer: bool,
    items: bool,
}

impl Include {
    fn read(text: &str) -> Result<Self, ApiProblem> {
        let mut include = Self::default();
        for part in text.split(',').map(str::trim) {
            match part {
                "customer" => include.customer = true,
                "items" => include.items = true,
                other => {
                    return Err(ApiProblem::new(
                        Kind::InvalidQuery,
                        format!(
                            "include takes customer and items, comma-separated, not {other:?}."
                        ),
                    ))
                }
            }
        }
        Ok(include)
    }

    /// The parameter again, for the page's links.
    fn parameter(self) -> &'static str {
        match (self.customer, self.items) {
            (true, true) => "&include=customer,items",
            (true, false) => "&include=customer",
            (false, true) => "&include=items",
            (false, false) => "",
        }
    }
}

/// The query string, read strictly: a typo in a parameter name is an
/// error the client sees, not a default it does not notice.
fn read_query(
    query: Option<&str>,
    default_per_page: u32,
) -> Result<(Wanted, u32, Include), ApiProblem> {
    let (mut page, mut per_page, mut paging, mut after, mut include) =
        (None, None, None, None, None);
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match name.as_ref() {
            "page" => &mut page,
            "per_page" => &mut per_page,
            "paging" => &mut paging,
            "after" => &mut after,
            "include" => &mut include,
            other => {
                return Err(ApiProblem::new(
                    Kind::InvalidQuery,
                    format!(
                    "Unknown parameter {other:?}: this API knows page, per_page, paging, after and include."
                ),
                ))
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(ApiProblem::new(
                Kind::InvalidQuery,
                format!("{name} is given twice."),
            ));
        }
    }
    let per_page = match per_page {
        None => default_per_page,
        Some(text) => whole(&text)
            .filter(|n| (1..=MAX_PER_PAGE).contains(n))
            .ok_or_else(|| {
                ApiProblem::new(
                    Kind::InvalidQuery,
                    format!(
                        "per_page must be a whole number from 1 to {MAX_PER_PAGE}, not {text:?}."
                    ),
                )
            })?,
    };
    let wanted = match (page, paging.as_deref(), after) {
        (Some(_), _, Some(_)) | (Some(_), Some("cursor"), None) => {
            return Err(ApiProblem::new(
                Kind::InvalidQuery,
                "A page is either an offset page (page) or a cursor page (paging=cursor, after), not both.",
            ))
        }
        (_, Some(other), _) if other != "offset" && other != "cursor" => {
            return Err(ApiProblem::new(
                Kind::InvalidQuery,
                format!("paging is offset or cursor, not {other:?}."),
            ))
        }
        (_, Some("offset"), Some(_)) => {
            return Err(ApiProblem::new(
                Kind::InvalidQuery,
                "after belongs to cursor paging; offset pages take page.",
            ))
        }
        (_, _, Some(cursor)) => Wanted::Cursor {
            after: Some(decode_cursor(&cursor)?),
        },
        (None, Some("cursor"), None) => Wanted::Cursor { after: None },
        (page, _, None) => Wanted::Offset {
            page: match page {
                None => 1,
                Some(text) => whole(&text).filter(|n| *n >= 1).ok_or_else(|| {
                    ApiProblem::new(
                        Kind::InvalidQuery,
                        format!("page must be a whole number from 1, not {text:?}."),
                    )
                })?,
            },
        },
    };
    let include = include.as_deref().map(Include::read).transpose()?;
    Ok((wanted, per_page, include.unwrap_or_default()))
}

fn whole(text: &str) -> Option<u32> {
    text.parse().ok()
}

/// A cursor for the page after the order `id`. Opaque to clients by
/// contract (they copy it from a `next` link), readable here.
fn encode_cursor(id: i64) -> String {
    format!("{CURSOR_PREFIX}{id}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiProblem> {
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|at| {
            cursor
                .get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect();
    bytes
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix(CURSOR_PREFIX)?.parse().ok())
        .ok_or_else(|| {
            ApiProblem::new(
                Kind::InvalidCursor,
                format!("{cursor:?} is not a cursor from this API's next links."),
            )
        })
}

/// The inspector's record of one page query.
#[derive(serde::Serialize)]
struct PageRead {
    mode: &'static str,
    statement: &'static str,
    parameters: String,
    rows_returned: usize,
    plan: String,
    #[serde(flatten)]
    steps: StepCounts,
}

impl LabEvent for PageRead {
    const KIND: &'static str = "api.page";
    fn summary(&self) -> String {
        format!(
            "{} page: {} rows returned; SQLite stepped over {} rows in full scans ({})",
            self.mode, self.rows_returned, self.steps.full_scan_steps, self.plan
        )
    }
}

/// The inspector's record of the count behind an offset page's `last` link.
#[derive(serde::Serialize)]
struct Counted {
    statement: &'static str,
    total: i64,
    #[serde(flatten)]
    steps: StepCounts,
}

impl LabEvent for Counted {
    const KIND: &'static str = "api.count";
    fn summary(&self) -> String {
        format!(
            "counted {} orders for the last link, stepping over {} rows",
            self.total, self.steps.full_scan_steps
        )
    }
}

/// A page as read from the shop.
struct Read {
    orders: Vec<OrderSummary>,
    /// Whether there are orders after this page.
    more: bool,
    total: Option<i64>,
}

/// Runs one page query, its plan and (for offset pages) the count.
fn read_page(
    db: &mut Db,
    wanted: Wanted,
    per_page: u32,
    inspector: &Inspector,
) -> Result<Read, SqlError> {
    let (mode, statement, parameters) = match wanted {
        Wanted::Offset { page } => (
            "offset",
            OFFSET_PAGE,
            vec![
                Value::from(per_page + 1),
                Value::from(u64::from(page - 1) * u64::from(per_page)),
            ],
        ),
        Wanted::Cursor { after: None } => {
            ("cursor", FIRST_CURSOR_PAGE, vec![Value::from(per_page + 1)])
        }
        Wanted::Cursor { after: Some(id) } => (
            "cursor",
            CURSOR_PAGE,
            vec![Value::from(id), Value::from(per_page + 1)],
        ),
    };
    let output = query(db, statement, &parameters)?;
    let steps = db.last_step_counts();
    let shown_plan = plan::explain(db, statement, LIMITS)?.details.join("; ");
    let mut orders = output
        .rows
        .iter()
        .map(|row| {
            Ok(OrderSummary {
                id: integer(row, 0)?,
                customer_id: integer(row, 1)?,
                placed_at: text(row, 2)?,
                status: text(row, 3)?,
            })
        })
        .collect::<Result<Vec<_>, SqlError>>()?;
    let more = orders.len() > per_page as usize;
    orders.truncate(per_page as usize);
    inspector.record(&PageRead {
        mode,
        statement,
        parameters: Value::from(parameters).to_string(),
        rows_returned: orders.len(),
        plan: shown_plan,
        steps,
    });
    let total = match wanted {
        Wanted::Offset { .. } => {
            let counted = query(db, COUNT, &[])?;
            let total = counted
                .rows
                .first()
                .map(|row| integer(row, 0))
                .transpose()?
                .unwrap_or_default();
            inspector.record(&Counted {
                statement: COUNT,
                total,
                steps: db.last_step_counts(),
            });
            Some(total)
        }
        Wanted::Cursor { .. } => None,
    };
    Ok(Read {
        orders,
        more,
        total,
    })
}

/// The resources `include` asks for, for the page's orders: one statement
/// per kind, not one per order.
fn included(
    db: &mut Db,
    include: Include,
    orders: &[OrderSummary],
) -> Result<Option<Included>, SqlError> {
    if include == Include::default() {
        return Ok(None);
    }
    let mut included = Included::default();
    if include.customer {
        let ids: BTreeSet<i64> = orders.iter().map(|o| o.customer_id).collect();
        included.customers = related::customers(db, &ids)?;
    }
    if include.items {
        let ids: BTreeSet<i64> = orders.iter().map(|o| o.id).collect();
        included.lines = related::lines(db, &ids)?;
        let products: BTreeSet<i64> = included.lines.iter().map(|l| l.product_id).collect();
        included.products = related::products(db, &products)?;
    }
    Ok(Some(included))
}

/// The neighbouring pages of this one.
fn links(wanted: Wanted, per_page: u32, include: Include, read: &Read) -> PageLinks {
    let include = include.parameter();
    match wanted {
        Wanted::Offset { page } => {
            let at = |page: u32| format!("{ORDERS}?page={page}&per_page={per_page}{include}");
            let total = read.total.unwrap_or_default().max(0) as u64;
            let last = total.div_ceil(u64::from(per_page)).max(1) as u32;
            PageLinks {
                first: Some(at(1)),
                prev: (page > 1).then(|| at((page - 1).min(last))),
                next: read.more.then(|| at(page + 1)),
                last: Some(at(last)),
            }
        }
        Wanted::Cursor { .. } => PageLinks {
            first: Some(format!(
                "{ORDERS}?paging=cursor&per_page={per_page}{include}"
            )),
            prev: None,
            next: read.orders.last().filter(|_| read.more).map(|last| {
                format!(
                    "{ORDERS}?after={}&per_page={per_page}{include}",
                    encode_cursor(last.id)
                )
            }),
            last: None,
        },
    }
}

/// The links as an RFC 8288 `Link` header value.
fn link_header(links: &PageLinks) -> String {
    [
        ("first", &links.first),
        ("prev", &links.prev),
        ("next", &links.next),
        ("last", &links.last),
    ]
    .into_iter()
    .filter_map(|(rel, url)| url.as_ref().map(|url| format!("<{url}>; rel=\"{rel}\"")))
    .collect::<Vec<_>>()
    .join(", ")
}

/// `GET /labs/api/orders`.
#[utoipa::path(get, path = "/orders", operation_id = "list_orders",
    summary = "A page of orders, by offset or by cursor",
    description = "Offset pages (`page`) count rows from the start; cursor pages (`paging=cursor`, then `after` from the `next` link) continue after the last order seen, and stay right while orders are added and removed. Unknown parameters are refused.",
    params(
        ("page" = Option<u32>, Query, minimum = 1, description = "Offset paging: the page number, from 1"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Orders on a page (the lab's `default_per_page` when absent)"),
        ("paging" = Option<String>, Query, description = "`offset` (the default) or `cursor`"),
        ("after" = Option<String>, Query, description = "Cursor paging: the cursor from the previous page's `next` link"),
        ("include" = Option<String>, Query, description = "`customer`, `items` or `customer,items`: adds the resources the page's orders refer to under `included`, so one request brings what would otherwise take one per order"),
    ),
    responses(
        (status = 200, description = "The page, with links to the others", body = model::labs::api::OrderPage,
            headers(("Link" = String, description = "RFC 8288 links: first, prev, next, last"))),
        (status = 400, description = "A parameter is unknown, repeated or out of range, or the cursor is not one this API made", body = model::labs::api::Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list(
    student: Student,
    State(labs): State<Labs>,
    inspector: Inspector,
    LabState(state): LabState<ApiLab>,
    CurrentSettings(settings, ..): CurrentSettings<ApiLab>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (wanted, per_page, include) = match read_query(raw.as_deref(), settings.default_per_page) {
        Ok(read) => read,
        Err(problem) => return Ok(problem.answer(&inspector)),
    };
    let recorder = inspector.clone();
    let now = labs.clock.now();
    let writes = writer::before_page(&state, &student.id, now);
    let (read, included, written) = in_shop(&labs, &student.id, move |db| {
        let written = writer::change_before_page(db, writes, now)?;
        let read = read_page(db, wanted, per_page, &recorder)?;
        let included = included(db, include, &read.orders)?;
        Ok((read, included, written))
    })
    .await?;
    if let Some((changes, rng)) = written {
        inspector.record(&changes);
        writer::after_page(&state, &student.id, &changes, rng);
    }
    let links = links(wanted, per_page, include, &read);
    let header_value = link_header(&links);
    let page = OrderPage {
        mode: match wanted {
            Wanted::Offset { .. } => "offset",
            Wanted::Cursor { .. } => "cursor",
        }
        .into(),
        orders: read.orders,
        per_page,
        page: match wanted {
            Wanted::Offset { page } => Some(page),
            Wanted::Cursor { .. } => None,
        },
        total: read.total.map(|t| t.max(0) as u64),
        links,
        included,
    };
    let mut response = Json(page).into_response();
    if let Ok(value) = HeaderValue::from_str(&header_value) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_hand_made_ones_are_refused() {
        assert_eq!(decode_cursor(&encode_cursor(11_990)).ok(), Some(11_990));
        for bad in ["", "zz", "12345", &encode_cursor(5)[2..]] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_query_string_is_read_strictly() {
        assert_eq!(
            read_query(None, 20).ok().map(|r| r.0),
            Some(Wanted::Offset { page: 1 })
        );
        assert_eq!(
            read_query(Some("page=3&per_page=50"), 20).ok(),
            Some((Wanted::Offset { page: 3 }, 50, Include::default()))
        );
        assert_eq!(
            read_query(Some("paging=cursor&include=items,customer"), 20).ok(),
            Some((
                Wanted::Cursor { after: None },
                20,
                Include {
                    customer: true,
                    items: true
                }
            ))
        );
        let cursor = format!("after={}", encode_cursor(42));
        assert_eq!(
            read_query(Some(&cursor), 20).ok(),
            Some((Wanted::Cursor { after: Some(42) }, 20, Include::default()))
        );
        for bad in [
            "page=0",
            "page=x",
            "per_page=0",
            "per_page=101",
            "perpage=5",
            "page=1&page=2",
            "page=2&paging=cursor",
            "paging=sideways",
            "after=nonsense",
            "include=seller",
            "include=",
        ] {
            assert!(read_query(Some(bad), 20).is_err(), "{bad}");
        }
    }

    #[test]
    fn offset_links_stop_at_the_ends_and_cursor_links_only_go_forward() {
        let read = |more, total| Read {
            orders: vec![OrderSummary {
                id: 7,
                customer_id: 1,
                placed_at: "2024-01-01".into(),
                status: "placed".into(),
            }],
            more,
            total,
        };
        let first = links(
            Wanted::Offset { page: 1 },
            20,
            Include::default(),
            &read(true, Some(45)),
        );
        assert_eq!(first.prev, None);
        assert_eq!(
            first.next.as_deref(),
            Some("/labs/api/orders?page=2&per_page=20")
        );
        assert_eq!(
            first.last.as_deref(),
            Some("/labs/api/orders?page=3&per_page=20")
        );
        let last = links(
            Wanted::Offset { page: 3 },
            20,
            Include::default(),
            &read(false, Some(45)),
        );
        assert_eq!(last.next, None);
        assert_eq!(
            last.prev.as_deref(),
            Some("/labs/api/orders?page=2&per_page=20")
        );
        let cursor = links(
            Wanted::Cursor { after: None },
            20,
            Include::default(),
            &read(true, None),
        );
        assert_eq!(
            cursor.next,
            Some(format!(
                "/labs/api/orders?after={}&per_page=20",
                encode_cursor(7)
            ))
        );
        assert_eq!((cursor.prev, cursor.last), (None, None));
        assert_eq!(
            link_header(&first),
            "</labs/api/orders?page=1&per_page=20>; rel=\"first\", </labs/api/orders?page=2&per_page=20>; rel=\"next\", </labs/api/orders?page=3&per_page=20>; rel=\"last\""
        );
    }
}
