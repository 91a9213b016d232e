//! How the backend-for-frontend builds an order page, as a plan both the
//! live BFF ([`super::bff`]) and the replay follow: which calls, in which
//! stages (a stage's calls go out together; the next stage waits for
//! them), and the student's seeded dice deciding each call's faults. The
//! replay runs the same plan on a virtual clock, which is how the
//! `order_page` check grades settings.

use model::labs::gateway::{Service, ShopRun, ShopSettings};

use super::data::{self, StoredOrder};
use super::services::MAX_BATCH;
use crate::labs::gateway::load::percentile;
use crate::seeded::SplitMix64;

/// What one call costs the replay besides its injected delay: a loopback
/// round trip and one indexed SQLite lookup, as measured live (well under
/// a millisecond).
const CALL_US: u64 = 400;
/// The most the BFF gives one page, all calls together: past it the page
/// fails (`504`), whatever each call's own timeout.
pub(crate) const PAGE_DEADLINE_MS: u64 = 3000;

/// One call to a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) service: Service,
    pub(crate) path: String,
}

/// The calls that need only the customer's number: who they are, and
/// their orders. Neither needs the other's answer, so in parallel they go
/// out together.
pub(crate) fn first_stages(settings: &ShopSettings, customer: u32) -> Vec<Vec<Call>> {
    let users = Call {
        service: Service::Users,
        path: format!("/customers/{customer}"),
    };
    let orders = Call {
        service: Service::Orders,
        path: format!("/customers/{customer}/orders"),
    };
    if settings.parallel {
        vec![vec![users, orders]]
    } else {
        vec![vec![users], vec![orders]]
    }
}

/// The catalog calls for the items on the page: one per order line, as
/// the naive loop makes them (the N+1), or one for every item at once.
pub(crate) fn catalog_stages(settings: &ShopSettings, orders: &[StoredOrder]) -> Vec<Vec<Call>> {
    let calls: Vec<Call> = if settings.batch_catalog {
        let mut ids: Vec<u32> = orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|(item, _)| *item))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.chunks(MAX_BATCH)
            .map(|chunk| Call {
                service: Service::Catalog,
                path: format!(
                    "/items?ids={}",
                    chunk
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            })
            .collect()
    } else {
        orders
            .iter()
            .flat_map(|o| o.lines.iter())
            .map(|(item, _)| Call {
                service: Service::Catalog,
                path: format!("/items/{item}"),
            })
            .collect()
    };
    if settings.parallel {
        vec![calls].into_iter().filter(|s| !s.is_empty()).collect()
    } else {
        calls.into_iter().map(|call| vec![call]).collect()
    }
}

/// What the student's faults do to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    /// Milliseconds the service waits first.
    pub(crate) delay_ms: u32,
    /// Then it answers `503`.
    pub(crate) abort: bool,
}

/// The fault of call `number` (counted in plan order from 0) of page
/// `page`, from `seed`: the same page of the same seed always gets the
/// same faults, whichever way it is built or replayed.
pub(crate) fn fault(
    settings: &ShopSettings,
    seed: u32,
    page: u64,
    number: u32,
    service: Service,
) -> Fault {
    let faults = settings.faults(service);
    let mut dice = SplitMix64::new(
        u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ page.wrapping_mul(0xD1B5_4A32_D192_ED03)
            ^ u64::from(number),
    );
    Fault {
        delay_ms: faults.extra_ms,
        abort: dice.percent(faults.error_percent),
    }
}

/// How one page went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageOutcome {
    /// The service whose call failed (or took too long), failing the page.
    pub(crate) failed_by: Option<Service>,
    /// Microseconds to build it, or to fail it.
    pub(crate) us: u64,
    /// Calls made.
    pub(crate) calls: u32,
}

/// Page `page` (customer `customer`) built by the BFF on a virtual clock:
/// each call takes its delay and [`CALL_US`], or the call timeout when
/// that is shorter (then it fails); a stage takes its slowest call; the
/// first failure fails the page at once, and so does the page deadline
/// (blamed on the stage's first service).
pub(crate) fn replay_page(
    settings: &ShopSettings,
    seed: u32,
    page: u64,
    customer: u32,
) -> PageOutcome {
    let orders = data::orders_of(customer);
    let stages = first_stages(settings, customer)
        .into_iter()
        .chain(catalog_stages(settings, &orders));
    let timeout_us = u64::from(settings.call_timeout_ms) * 1000;
    let (mut now_us, mut number, mut calls) = (0, 0, 0);
    for stage in stages {
        let mut slowest = 0;
        let mut failure: Option<(u64, Service)> = None;
        for call in &stage {
            let fault = fault(settings, seed, page, number, call.service);
            number += 1;
            calls += 1;
            let took = u64::from(fault.delay_ms) * 1000 + CALL_US;
            let failed_at = if took >= timeout_us {
                Some(timeout_us)
            } else {
                fault.abort.then_some(took)
            };
            match failed_at {
                Some(at) if failure.is_none_or(|(first, _)| at < first) => {
                    failure = Some((at, call.service))
                }
                Some(_) => {}
                None => slowest = slowest.max(took),
            }
        }
        let deadline_us = PAGE_DEADLINE_MS * 1000;
        let ends_us = now_us + failure.map_or(slowest, |(at, _)| at);
        if ends_us > deadline_us {
            return PageOutcome {
                failed_by: Some(stage[0].service),
                us: deadline_us,
                calls,
            };
        }
        if let Some((_, service)) = failure {
            return PageOutcome {
                failed_by: Some(service),
                us: ends_us,
                calls,
            };
        }
        now_us = ends_us;
    }
    PageOutcome {
        failed_by: None,
        us: now_us,
        calls,
    }
}

/// The customer whose order page is page `page` of a run: 1, 2, ... 50, 1, ...
pub(crate) fn customer_of_page(page: u64) -> u32 {
    (page % u64::from(data::CUSTOMERS)) as u32 + 1
}

/// `pages` pages replayed with `settings` and `seed`.
pub(crate) fn replay(settings: &ShopSettings, seed: u32, pages: u32) -> ShopRun {
    let outcomes: Vec<PageOutcome> = (0..u64::from(pages))
        .map(|page| replay_page(settings, seed, page, customer_of_page(page)))
        .collect();
    summarize(&outcomes)
}

/// What a run of pages came to.
pub(crate) fn summarize(outcomes: &[PageOutcome]) -> ShopRun {
    let mut failed_by = vec![0; Service::ALL.len()];
    for outcome in outcomes {
        if let Some(service) = outcome.failed_by {
            failed_by[Service::ALL.iter().position(|s| *s == service).unwrap_or(0)] += 1;
        }
    }
    let mut ms: Vec<u32> = outcomes
        .iter()
        .map(|o| o.us.div_ceil(1000) as u32)
        .collect();
    ms.sort_unstable();
    let failed: u32 = failed_by.iter().sum();
    let calls: u32 = outcomes.iter().map(|o| o.calls).sum();
    ShopRun {
        pages: outcomes.len() as u32,
        succeeded: outcomes.len() as u32 - failed,
        failed,
        failed_by,
        calls_per_page: if outcomes.is_empty() {
            0.0
        } else {
            (f64::from(calls) / outcomes.len() as f64 * 100.0).round() / 100.0
        },
        p50_ms: percentile(&ms, 50),
        p99_ms: percentile(&ms, 99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labs::gateway::ServiceFaults;

    fn shop(parallel: bool, batch_catalog: bool) -> ShopSettings {
        ShopSettings {
            parallel,
            batch_catalog,
            ..ShopSettings::default()
        }
    }

    #[test]
    fn the_naive_page_makes_one_catalog_call_per_line_one_after_another() {
        // Customer 3 has two orders, 30 and 31.
        let orders = data::orders_of(3);
        let lines: usize = orders.iter().map(|o| o.lines.len()).sum();
        let naive = catalog_stages(&shop(false, false), &orders);
        assert_eq!(naive.len(), lines, "one stage per line");
        assert!(naive.iter().all(|stage| stage.len() == 1));
        let batched = catalog_stages(&shop(true, true), &orders);
        assert_eq!(batched.len(), 1);
        assert_eq!(batched[0].len(), 1);
        assert!(batched[0][0].path.starts_with("/items?ids="));
        assert_eq!(
            first_stages(&shop(true, true), 3).len(),
            1,
            "users and orders at once"
        );
        assert_eq!(first_stages(&shop(false, true), 3).len(), 2);
    }

    #[test]
    fn fifty_pages_make_six_and_a_half_calls_more_each_without_a_batch() {
        let naive = replay(&shop(false, false), 1, 50);
        let batched = replay(&shop(false, true), 1, 50);
        assert_eq!(naive.calls_per_page, 8.38, "2 + 319 / 50");
        assert_eq!(batched.calls_per_page, 3.0);
        assert_eq!((naive.failed, batched.failed), (0, 0));
    }

    #[test]
    fn a_flaky_catalog_fails_more_pages_the_more_often_it_is_called() {
        let flaky = |batch| ShopSettings {
            catalog: ServiceFaults {
                extra_ms: 0,
                error_percent: 5,
            },
            ..shop(true, batch)
        };
        let naive = replay(&flaky(false), 7, 50);
        let batched = replay(&flaky(true), 7, 50);
        assert!(
            naive.failed > batched.failed * 3,
            "{naive:?} against {batched:?}"
        );
        assert_eq!(
            naive.failed_by[2], naive.failed,
            "every failure is the catalog's"
        );
    }

    #[test]
    fn slow_services_add_up_in_sequence_and_overlap_in_parallel() {
        let slow = |parallel| ShopSettings {
            users: ServiceFaults {
                extra_ms: 80,
                error_percent: 0,
            },
            orders: ServiceFaults {
                extra_ms: 80,
                error_percent: 0,
            },
            ..shop(parallel, true)
        };
        let sequential = replay_page(&slow(false), 1, 0, 1);
        let parallel = replay_page(&slow(true), 1, 0, 1);
        assert_eq!(sequential.us, 2 * 80_400 + CALL_US);
        assert_eq!(parallel.us, 80_400 + CALL_US);
    }

    #[test]
    fn a_call_slower_than_the_timeout_fails_the_page_at_the_timeout() {
        let settings = ShopSettings {
            call_timeout_ms: 50,
            orders: ServiceFaults {
                extra_ms: 200,
                error_percent: 0,
            },
            ..shop(false, true)
        };
        let page = replay_page(&settings, 1, 0, 1);
        assert_eq!(page.failed_by, Some(Service::Orders));
        assert_eq!(
            page.us,
            CALL_US + 50_000,
            "the users call, then the timeout"
        );
        assert_eq!(page.calls, 2, "the catalog is never asked");
    }

    #[test]
    fn a_page_past_its_deadline_fails_there_blamed_on_the_service_it_waited_for() {
        let settings = ShopSettings {
            catalog: ServiceFaults {
                extra_ms: 600,
                error_percent: 0,
            },
            ..shop(false, false)
        };
        // Customer 1: two calls, then 600 ms a catalog call, one after another.
        let page = replay_page(&settings, 1, 0, 1);
        assert_eq!(page.failed_by, Some(Service::Catalog));
        assert_eq!(page.us, PAGE_DEADLINE_MS * 1000);
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let settings = ShopSettings {
            catalog: ServiceFaults {
                extra_ms: 0,
                error_percent: 30,
            },
            ..ShopSettings::default()
        };
        assert_eq!(replay(&settings, 9, 50), replay(&settings, 9, 50));
        assert_ne!(replay(&settings, 9, 50), replay(&settings, 10, 50));
    }
}
