//! The demo shop's own behaviour, over real HTTP: auth, catalogue, carts and orders,
//! OAuth expiry and rotation, multipart imports completing in the background, knobs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stampede_demo::{DemoServer, Knobs, get, serve};
use stampede_tests::{http_call, http_json};

async fn shop(knobs: Knobs) -> DemoServer {
    serve("127.0.0.1:0".parse().unwrap(), knobs).await.unwrap()
}

const JSON: (&str, &str) = ("content-type", "application/json");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

async fn login(addr: SocketAddr) -> String {
    let body = json!({"email": "qa@example.com", "password": "demo-password"}).to_string();
    let (status, v) = http_json(addr, "POST", "/api/v1/auth/login", &[JSON], body).await;
    assert_eq!(status, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn login_guards_the_profile() {
    let demo = shop(Knobs::default()).await;
    let a = demo.addr;
    assert_eq!(
        http_json(a, "GET", "/api/v1/users/me", &[], "").await.0,
        401
    );
    let wrong = json!({"email": "qa@example.com", "password": "nope"}).to_string();
    assert_eq!(
        http_json(a, "POST", "/api/v1/auth/login", &[JSON], wrong)
            .await
            .0,
        401
    );
    let token = format!("Bearer {}", login(a).await);
    let (status, me) = http_json(
        a,
        "GET",
        "/api/v1/users/me",
        &[("authorization", &token)],
        "",
    )
    .await;
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("qa@example.com"))
    );
    let st = &demo.shop.stats;
    assert_eq!(
        (get(&st.logins), get(&st.failed_logins), get(&st.me)),
        (1, 1, 1)
    );
    assert_eq!(get(&st.unauthorized), 1);
}

#[tokio::test]
async fn catalogue_pages_filter_sort_and_404() {
    let demo = shop(Knobs::default()).await;
    let a = demo.addr;
    let (status, v) = http_json(
        a,
        "GET",
        "/api/v1/products?category=books&page=2&limit=7&sort=price_asc",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 7);
    assert_eq!(v["total"], 60, "300 products over 5 categories");
    assert!(items.iter().all(|p| p["category"] == "books"));
    let prices: Vec<f64> = items.iter().map(|p| p["price"].as_f64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] <= w[1]), "{prices:?}");
    let (status, p) = http_json(a, "GET", "/api/v1/products/SKU-104582", &[], "").await;
    assert_eq!((status, p["sku"].as_str()), (200, Some("SKU-104582")));
    assert_eq!(
        http_json(a, "GET", "/api/v1/products/SKU-1", &[], "")
            .await
            .0,
        404
    );
    assert_eq!(
        http_json(a, "GET", "/api/v1/products?sort=best", &[], "")
            .await
            .0,
        400
    );
    assert_eq!(http_json(a, "GET", "/api/v1/nothing", &[], "").await.0, 404);
}

#[tokio::test]
async fn carts_and_orders_are_validated() {
    let demo = shop(Knobs::default()).await;
    let a = demo.addr;
    let cur = json!({"currency": "EUR"}).to_string();
    assert_eq!(
        http_json(a, "POST", "/api/v1/carts", &[JSON], cur.clone())
            .await
            .0,
        401
    );
    let token = format!("Bearer {}", login(a).await);
    let auth = [JSON, ("authorization", token.as_str())];
    let (status, cart) = http_json(a, "POST", "/api/v1/carts", &auth, cur).await;
    assert_eq!(status, 201);
    let id = cart["id"].as_u64().unwrap();
    let items = format!("/api/v1/carts/{id}/items");
    let add = |sku: &str, q: u64| json!({"productId": sku, "quantity": q}).to_string();
    assert_eq!(
        http_json(a, "POST", &items, &auth, add("SKU-9", 1)).await.0,
        404
    );
    assert_eq!(
        http_json(a, "POST", &items, &auth, add("SKU-104401", 0))
            .await
            .0,
        422
    );
    assert_eq!(
        http_json(
            a,
            "POST",
            "/api/v1/carts/999/items",
            &auth,
            add("SKU-104401", 1)
        )
        .await
        .0,
        404
    );
    let address =
        json!({"line1": "1 Load St", "city": "Springfield", "postalCode": "1", "country": "US"});
    let order = |addr: &Value| {
        json!({"cartId": id, "paymentMethod": "card", "shippingAddress": addr}).to_string()
    };
    let (status, v) = http_json(a, "POST", "/api/v1/orders", &auth, order(&address)).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("the cart is empty"))
    );
    let (status, _) = http_json(a, "POST", &items, &auth, add("SKU-104401", 2)).await;
    assert_eq!(status, 201);
    let (status, c) = http_json(a, "POST", &items, &auth, add("SKU-104401", 1)).await;
    assert_eq!((status, &c["items"][0]["quantity"]), (201, &json!(3)));
    let mut no_city = address.clone();
    no_city["city"] = json!("");
    let (status, v) = http_json(a, "POST", "/api/v1/orders", &auth, order(&no_city)).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (422, Some("shippingAddress.city is required"))
    );
    let (status, v) = http_json(a, "POST", "/api/v1/orders", &auth, order(&address)).await;
    assert_eq!((status, v["status"].as_str()), (201, Some("confirmed")));
    assert_eq!(v["total"], c["total"]);
    assert_eq!(
        http_json(a, "POST", "/api/v1/orders", &auth, order(&address))
            .await
            .0,
        409
    );
    let st = &demo.shop.stats;
    assert_eq!(
        (
            get(&st.carts_created),
            get(&st.items_added),
            get(&st.orders_placed)
        ),
        (1, 2, 1)
    );
    assert_eq!(get(&st.orders_rejected), 3);
}

#[tokio::test]
async fn oauth_tokens_expire_and_refresh_tokens_rotate() {
    let knobs = Knobs {
        token_ttl: Duration::from_millis(300),
        ..Knobs::default()
    };
    let demo = shop(knobs).await;
    let a = demo.addr;
    let grant = "grant_type=password&username=qa%40example.com&password=demo-password";
    let (status, v) = http_json(a, "POST", "/oauth/token", &[FORM], grant).await;
    assert_eq!((status, v["error"].as_str()), (401, Some("invalid_client")));
    let client = "&client_id=demo-client&client_secret=demo-secret";
    let (status, v) = http_json(
        a,
        "POST",
        "/oauth/token",
        &[JSON],
        format!("{grant}{client}"),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let bad = "grant_type=password&username=qa%40example.com&password=x";
    let (status, v) = http_json(a, "POST", "/oauth/token", &[FORM], format!("{bad}{client}")).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));
    // The client may authenticate with HTTP Basic instead.
    let basic = ("authorization", "Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=");
    let (status, t1) = http_json(a, "POST", "/oauth/token", &[FORM, basic], grant).await;
    assert_eq!(status, 200, "{t1}");
    assert_eq!(t1["expires_in"], 1, "300 ms rounds up to a whole second");
    let bearer = |t: &Value| format!("Bearer {}", t["access_token"].as_str().unwrap());
    let dash = "/api/v2/dashboard/summary?range=7d";
    let b1 = bearer(&t1);
    assert_eq!(
        http_json(a, "GET", dash, &[("authorization", &b1)], "")
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, v) = http_json(a, "GET", dash, &[("authorization", &b1)], "").await;
    assert_eq!((status, v["error"].as_str()), (401, Some("token expired")));
    let refresh = |t: &Value| {
        format!(
            "grant_type=refresh_token&refresh_token={}{client}",
            t["refresh_token"].as_str().unwrap()
        )
    };
    let (status, t2) = http_json(a, "POST", "/oauth/token", &[FORM], refresh(&t1)).await;
    assert_eq!(status, 200, "{t2}");
    assert_ne!(t2["refresh_token"], t1["refresh_token"]);
    let b2 = bearer(&t2);
    let (status, d) = http_json(a, "GET", dash, &[("authorization", &b2)], "").await;
    assert_eq!((status, d["range"].as_str()), (200, Some("7d")));
    // A used refresh token is dead; rotating again revokes the access token it came with.
    let (status, v) = http_json(a, "POST", "/oauth/token", &[FORM], refresh(&t1)).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));
    let (status, _) = http_json(a, "POST", "/oauth/token", &[FORM], refresh(&t2)).await;
    assert_eq!(status, 200);
    assert_eq!(
        http_json(a, "GET", dash, &[("authorization", &b2)], "")
            .await
            .0,
        401
    );
    let usage = "/api/v2/reports/usage?period=month";
    assert_eq!(
        http_json(a, "GET", usage, &[("authorization", &b1)], "")
            .await
            .0,
        401
    );
    let st = &demo.shop.stats;
    assert_eq!(
        (
            get(&st.oauth_grants),
            get(&st.oauth_refreshes),
            get(&st.oauth_rejected)
        ),
        (1, 2, 4)
    );
    assert_eq!((get(&st.dashboard_views), get(&st.expired_tokens)), (2, 1));
}

#[tokio::test]
async fn usage_report_validates_its_query() {
    let demo = shop(Knobs::default()).await;
    let a = demo.addr;
    let body = "grant_type=password&username=qa%40example.com&password=demo-password&client_id=demo-client&client_secret=demo-secret";
    let (_, t) = http_json(a, "POST", "/oauth/token", &[FORM], body).await;
    let b = format!("Bearer {}", t["access_token"].as_str().unwrap());
    let h = [("authorization", b.as_str())];
    assert_eq!(
        http_json(a, "GET", "/api/v2/reports/usage?period=month", &h, "")
            .await
            .0,
        400
    );
    assert_eq!(
        http_json(
            a,
            "GET",
            "/api/v2/reports/usage?teamId=t&period=2026-13",
            &h,
            ""
        )
        .await
        .0,
        400
    );
    let (status, v) = http_json(
        a,
        "GET",
        "/api/v2/reports/usage?teamId=t&period=2026-11",
        &h,
        "",
    )
    .await;
    assert_eq!((status, v["teamId"].as_str()), (200, Some("t")));
    assert_eq!(get(&demo.shop.stats.usage_reports), 1);
}

fn multipart(csv: &str, import_type: &str) -> (String, String) {
    let b = "XyZzY";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{csv}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"importType\"\r\n\r\n{import_type}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"notifyOnCompletion\"\r\n\r\ntrue\r\n--{b}--\r\n"
    );
    (format!("multipart/form-data; boundary={b}"), body)
}

#[tokio::test]
async fn imports_parse_the_csv_and_complete_in_the_background() {
    let knobs = Knobs {
        import_row_time: Duration::from_millis(20),
        ..Knobs::default()
    };
    let demo = shop(knobs).await;
    let a = demo.addr;
    let csv = "email,name\na@x.io,A\nnot-an-email,B\n\"c@x.io\",\"C, Jr\"\nd@x.io,D\n";
    let (ct, body) = multipart(csv, "full");
    let key = ("x-api-key", "demo-api-key");
    let url = "/api/v1/imports/customers";
    let no_key = http_json(a, "POST", url, &[("content-type", &ct)], body.clone()).await;
    assert_eq!(no_key.0, 401);
    assert_eq!(http_json(a, "POST", url, &[key, JSON], "{}").await.0, 400);
    let (ct2, no_email) = multipart("name\nA\n", "full");
    let (status, v) = http_json(a, "POST", url, &[key, ("content-type", &ct2)], no_email).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (422, Some("the CSV needs an email column"))
    );
    let (ct3, bad_type) = multipart(csv, "sometimes");
    assert_eq!(
        http_json(a, "POST", url, &[key, ("content-type", &ct3)], bad_type)
            .await
            .0,
        422
    );

    let (status, job) = http_json(a, "POST", url, &[key, ("content-type", &ct)], body).await;
    assert_eq!(
        (status, job["status"].as_str()),
        (202, Some("queued")),
        "{job}"
    );
    assert_eq!(job["notifyOnCompletion"], true);
    let status_url = format!("/api/v1/imports/{}/status", job["jobId"].as_str().unwrap());
    let t0 = Instant::now();
    let done = loop {
        let (status, s) = http_json(a, "GET", &status_url, &[key], "").await;
        assert_eq!(status, 200);
        if s["status"] == "completed" {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the job never completed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        (
            &done["rowsTotal"],
            &done["rowsImported"],
            &done["rowsRejected"]
        ),
        (&json!(4), &json!(3), &json!(1))
    );
    let (status, list) = http_json(
        a,
        "GET",
        "/api/v1/imports?limit=5&status=completed",
        &[key],
        "",
    )
    .await;
    assert_eq!((status, &list["total"]), (200, &json!(1)));
    assert_eq!(list["items"][0]["jobId"], job["jobId"]);
    assert_eq!(
        http_json(a, "GET", "/api/v1/imports?status=lost", &[key], "")
            .await
            .0,
        400
    );
    assert_eq!(
        http_json(a, "GET", "/api/v1/imports/77/status", &[key], "")
            .await
            .0,
        404
    );
    let st = &demo.shop.stats;
    assert_eq!(
        (
            get(&st.imports_accepted),
            get(&st.imports_rejected),
            get(&st.import_rows_received)
        ),
        (1, 3, 4)
    );
    assert_eq!(
        (
            get(&st.import_rows_imported),
            get(&st.import_jobs_completed)
        ),
        (3, 1)
    );
}

#[tokio::test]
async fn knobs_slow_and_fail_a_route() {
    let knobs = Knobs::parse(
        &["GET /api/v1/products/{sku}=150ms".into()],
        &[],
        &["GET /api/v1/users/me=1".into()],
    )
    .unwrap();
    let demo = shop(knobs).await;
    let a = demo.addr;
    let t0 = Instant::now();
    let (status, _, _) = http_call(a, "GET", "/api/v1/products/SKU-104401", &[], "").await;
    assert_eq!(status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let token = format!("Bearer {}", login(a).await);
    let (status, v) = http_json(
        a,
        "GET",
        "/api/v1/users/me",
        &[("authorization", &token)],
        "",
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (503, Some("injected failure (--fail)"))
    );
    // A random latency on every route: never below its floor, and roughly its median.
    let knobs = Knobs::parse(&[], &["*=20ms".into()], &[]).unwrap();
    let demo = shop(knobs).await;
    let t0 = Instant::now();
    for _ in 0..20 {
        let (status, _, _) = http_call(demo.addr, "GET", "/api/v1/products", &[], "").await;
        assert_eq!(status, 200);
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t0.elapsed()
    );
    let err = Knobs::parse(&["GET products=1s".into()], &[], &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("must look like 'GET /api/v1/products'"),
        "{err}"
    );
}
