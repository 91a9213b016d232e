//! Padded requests cannot grow the server's memory without bound: a trace
//! keeps a few KiB of headers whatever arrives. A file of its own, so the
//! process's resident memory measures this test and nothing else.

mod common;

use common::TestServer;

/// Resident memory of this process, in bytes (Linux).
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

#[tokio::test]
async fn a_thousand_padded_requests_from_five_guests_keep_memory_bounded() {
    let server = TestServer::start().await;
    let guests: Vec<_> = (0..5).map(|_| server.browser()).collect();
    // Warm up: sessions, the lab's code paths, the allocator's first arenas.
    for guest in &guests {
        guest
            .get(server.url("/labs/http/echo"))
            .send()
            .await
            .unwrap();
    }
    let before = resident_bytes();

    let padding = "p".repeat(10 * 1024);
    for round in 0..200 {
        for guest in &guests {
            let mut request = guest.get(server.url(&format!("/labs/http/echo/{round}")));
            for h in 0..10 {
                request = request.header(format!("x-pad-{h}"), &padding);
            }
            assert_eq!(request.send().await.unwrap().status(), 200);
        }
    }
    let kept = server.state.traces.bytes();
    let grown = resident_bytes().saturating_sub(before);
    println!(
        "traces keep {} KiB; the process grew by {} MiB",
        kept / 1024,
        grown / (1024 * 1024)
    );

    // 1,000 traces of 100 KiB of headers each arrived (about 100 MB); a
    // trace keeps at most 8 KiB of them.
    let per_trace = 8 * 1024 + 4 * 1024;
    assert!(
        kept <= 1_000 * per_trace,
        "the traces hold {kept} bytes, over {} for 1,000 bounded traces",
        1_000 * per_trace
    );
    assert!(
        grown < 48 * 1024 * 1024,
        "the process grew by {} MiB",
        grown / (1024 * 1024)
    );
    server.stop().await;
}
