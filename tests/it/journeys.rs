//! The seed's journeys as plugins, in each language, against the demo shop: every run
//! ends with no unexpected failure, and what the shop saw matches what the plugin
//! reports, so a plugin that silently skips a step fails.

use std::time::Duration;

use stampede::executor::Load;
use stampede::metrics::summary::Summary;
use stampede::run::{StopSignals, run};
use stampede_demo::{DemoServer, DemoStats, Knobs, get, serve};
use stampede_tests::*;

use crate::kit::requests;

const QUICK: [(&str, &str); 2] = [("WAIT_MIN_MS", "0"), ("WAIT_MAX_MS", "5")];

// The gate is held across awaits on purpose: it orders tests, it guards no data.
#[allow(clippy::await_holding_lock)]
async fn journey(
    wasm: &str,
    vus: u32,
    load: Load,
    env: &[(&str, &str)],
    knobs: Knobs,
) -> (Summary, DemoServer) {
    let _timed = crate::kit::timed();
    let demo = serve("127.0.0.1:0".parse().unwrap(), knobs).await.unwrap();
    let mut all = QUICK.to_vec();
    all.extend_from_slice(env);
    let cfg = config(wasm, &format!("http://{}", demo.addr), vus, load, &all);
    let s = run(cfg, StopSignals::none(), |_| {})
        .await
        .expect("run succeeds");
    // Nothing unexpected: no failed request, task, iteration or check.
    assert_eq!(s.totals.http_req_failed, 0, "{:?}", s.errors);
    assert_eq!(s.totals.iterations_failed, 0, "{:?}", s.errors);
    assert_eq!(s.totals.checks_failed, 0, "{:?}", s.checks);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    (s, demo)
}

fn task_runs(s: &Summary, name: &str) -> u64 {
    let t = s.tasks.iter().find(|t| t.name == name);
    let t = t.unwrap_or_else(|| panic!("no task {name:?} in {:?}", s.tasks));
    assert_eq!(t.failures, 0, "{name}");
    t.runs
}

fn no_refusals(st: &DemoStats) {
    assert_eq!(
        get(&st.unauthorized),
        0,
        "a request went without valid credentials"
    );
}

async fn smoke(wasm: &str) {
    let vus = 4;
    let (s, demo) = journey(wasm, vus, Load::iterations(120), &[], Knobs::default()).await;
    let st = &demo.shop.stats;
    no_refusals(st);
    let (list, view, me) = (
        task_runs(&s, "list_products"),
        task_runs(&s, "view_product"),
        task_runs(&s, "my_profile"),
    );
    assert_eq!(list + view + me, 120);
    assert!(list > 0 && view > 0 && me > 0);
    assert_eq!(get(&st.logins), u64::from(vus), "one login per user");
    assert_eq!(get(&st.product_lists), list);
    assert_eq!(get(&st.product_views), view);
    assert_eq!(get(&st.me), me);
    assert_eq!(requests(&s, "GET /api/v1/products/:sku"), view);
    assert_eq!(get(&st.requests), s.totals.http_reqs);
}

async fn checkout(wasm: &str) {
    let vus = 4;
    let (s, demo) = journey(wasm, vus, Load::iterations(160), &[], Knobs::default()).await;
    let st = &demo.shop.stats;
    no_refusals(st);
    let (browse, add, buy) = (
        task_runs(&s, "browse"),
        task_runs(&s, "add_to_cart"),
        task_runs(&s, "checkout"),
    );
    assert_eq!(browse + add + buy, 160);
    // Weights 4:3:1; with 160 picks each task runs.
    assert!(browse > 0 && add > 0 && buy > 0, "{browse} {add} {buy}");
    assert_eq!(get(&st.logins), u64::from(vus), "one login per user");
    assert_eq!(get(&st.product_lists), browse);
    assert_eq!(
        get(&st.orders_placed),
        buy,
        "every checkout placed an order"
    );
    assert_eq!(get(&st.orders_rejected), 0);
    // One cart per user at the start, and a new one after each order.
    assert_eq!(get(&st.carts_created), u64::from(vus) + buy);
    // Items: every add_to_cart, plus one for a checkout of an empty cart.
    let items = get(&st.items_added);
    assert!(
        items >= add && items <= add + buy,
        "{items} items, {add} adds"
    );
    assert_eq!(requests(&s, "POST /api/v1/carts/:id/items"), items);
    assert_eq!(requests(&s, "POST /api/v1/orders"), buy);
    assert_eq!(requests(&s, "GET /api/v1/products"), browse);
    assert_eq!(
        get(&st.requests),
        s.totals.http_reqs,
        "every request was recorded"
    );
}

/// The OAuth journey; `k6`: written as a k6 script (one task, `default`, the mix by
/// request names).
async fn token_refresh(wasm: &str, k6: bool) {
    let vus = 3;
    let (s, demo) = journey(
        wasm,
        vus,
        Load::duration(Duration::from_millis(1500)),
        &[
            ("REFRESH_AFTER_S", "0.25"),
            ("WAIT_MIN_MS", "10"),
            ("WAIT_MAX_MS", "30"),
        ],
        Knobs::default(),
    )
    .await;
    let st = &demo.shop.stats;
    no_refusals(st);
    let (dash, usage) = if k6 {
        let (dash, usage) = (
            requests(&s, "GET /api/v2/dashboard/summary"),
            requests(&s, "GET /api/v2/reports/usage"),
        );
        assert_eq!(task_runs(&s, "default"), dash + usage);
        (dash, usage)
    } else {
        (task_runs(&s, "dashboard"), task_runs(&s, "usage_report"))
    };
    assert!(dash > 0 && usage > 0);
    assert_eq!(
        get(&st.oauth_grants),
        u64::from(vus),
        "one password grant per user"
    );
    let refreshes = get(&st.oauth_refreshes);
    // 1.5 s with a refresh due every 0.25 s: several per user.
    assert!(refreshes >= 2 * u64::from(vus), "{refreshes} refreshes");
    assert_eq!(requests(&s, "POST /oauth/token (refresh)"), refreshes);
    assert_eq!(get(&st.oauth_rejected), 0);
    assert_eq!(get(&st.dashboard_views), dash);
    assert_eq!(get(&st.usage_reports), usage);
    assert_eq!(get(&st.requests), s.totals.http_reqs);
}

async fn file_upload(wasm: &str) {
    let rows = 25;
    let knobs = Knobs {
        import_row_time: Duration::from_millis(1),
        ..Knobs::default()
    };
    let (s, demo) = journey(
        wasm,
        3,
        Load::iterations(24),
        &[("ROWS", "25"), ("POLL_MS", "20")],
        knobs,
    )
    .await;
    let st = &demo.shop.stats;
    no_refusals(st);
    let (uploads, lists) = (
        task_runs(&s, "upload_customers"),
        task_runs(&s, "list_imports"),
    );
    assert!(uploads > 0 && lists > 0);
    assert_eq!(get(&st.imports_accepted), uploads);
    assert_eq!(get(&st.imports_rejected), 0);
    assert_eq!(get(&st.import_rows_received), rows * uploads);
    // Each upload task waited for its job to complete and checked every row.
    assert_eq!(get(&st.import_jobs_completed), uploads);
    assert_eq!(get(&st.import_rows_imported), rows * uploads);
    let polls = get(&st.import_status_polls);
    assert!(polls >= uploads);
    assert_eq!(requests(&s, "GET /api/v1/imports/:jobId/status"), polls);
    assert_eq!(get(&st.import_lists), lists);
}

/// The checkout journey as a k6 script: one task (`default`), the mix by request names.
async fn checkout_k6(wasm: &str) {
    let vus = 4;
    let (s, demo) = journey(wasm, vus, Load::iterations(160), &[], Knobs::default()).await;
    let st = &demo.shop.stats;
    no_refusals(st);
    assert_eq!(task_runs(&s, "default"), 160);
    let (browse, add, buy) = (
        requests(&s, "GET /api/v1/products"),
        requests(&s, "POST /api/v1/carts/:id/items"),
        requests(&s, "POST /api/v1/orders"),
    );
    // Each iteration browses, adds or buys (4:3:1); a checkout of an empty cart adds first.
    assert!(browse > 0 && add > 0 && buy > 0, "{browse} {add} {buy}");
    assert!(
        browse + add >= 160 - buy && browse + add <= 160,
        "{browse} {add} {buy}"
    );
    assert_eq!(get(&st.logins), u64::from(vus), "one login per VU");
    assert_eq!(get(&st.product_lists), browse);
    assert_eq!(get(&st.items_added), add);
    assert_eq!(
        get(&st.orders_placed),
        buy,
        "every checkout placed an order"
    );
    assert_eq!(get(&st.orders_rejected), 0);
    assert_eq!(get(&st.carts_created), u64::from(vus) + buy);
    assert_eq!(
        s.totals.checks_passed, s.totals.http_reqs,
        "one check per request"
    );
    assert_eq!(get(&st.requests), s.totals.http_reqs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_in_k6_script() {
    checkout_k6(CHECKOUT_K6_JS_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refresh_in_k6_script() {
    token_refresh(TOKEN_REFRESH_K6_JS_WASM, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_in_rust() {
    checkout(CHECKOUT_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refresh_in_rust() {
    token_refresh(TOKEN_REFRESH_WASM, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_upload_in_rust() {
    file_upload(FILE_UPLOAD_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_in_js() {
    checkout(CHECKOUT_JS_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_refresh_in_js() {
    token_refresh(TOKEN_REFRESH_JS_WASM, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_in_rust() {
    smoke(SMOKE_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_in_python() {
    smoke(SMOKE_PY_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_upload_in_go() {
    file_upload(FILE_UPLOAD_GO_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_in_js() {
    smoke(SMOKE_JS_WASM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_in_go() {
    smoke(SMOKE_GO_WASM).await;
}
