//! The reports CI systems show, opened the way CI opens them: the JUnit file validated
//! against the JUnit XML schema with xmllint, the HTML report rendered in headless
//! Chromium, whose network log must show no request leaving the machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use stampede_demo::{Knobs, serve};
use stampede_tests::*;

fn junit_xsd() -> String {
    format!("{}/schemas/junit.xsd", stampede_tests::TESTS_DIR)
}

/// Chromium and xmllint, installed by the project's set-up script when missing.
fn tools() -> &'static Result<(), String> {
    static TOOLS: OnceLock<Result<(), String>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let script = format!("{}/setup/browser.sh", stampede_tests::TESTS_DIR);
        let out = Command::new("bash")
            .arg(script)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    })
}

fn stampede(args: &[&str], dir: &Path) -> (i32, String, String) {
    let o = Command::new(stampede_bin!())
        .args(args)
        .env("STAMPEDE_CACHE_DIR", dir.join("cache"))
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs the smoke scenario against the demo target for three seconds, judged by
/// thresholds (one failing) and a baseline (an earlier run), with every report.
async fn reports(name: &str) -> PathBuf {
    let knobs = Knobs::parse(&[], &[], &["GET /api/v1/users/me=0.2".into()]).unwrap();
    let demo = serve("127.0.0.1:0".parse().unwrap(), knobs).await.unwrap();
    let dir = scratch_dir(name);
    let target = format!("http://{}", demo.addr);
    let d = dir.clone();
    tokio::task::spawn_blocking(move || {
        let p = |f: &str| d.join(f).to_str().unwrap().to_string();
        let base = [
            "run",
            SMOKE_WASM,
            "--target",
            &target,
            "--vus",
            "5",
            "--duration",
            "3s",
            "--env",
            "WAIT_MIN_MS=5",
            "--env",
            "WAIT_MAX_MS=20",
            "-q",
        ];
        // The baseline carries the same injected errors: no gate judges it.
        let (code, _, err) = stampede(
            &[
                &base[..],
                &["--summary-json", &p("base.json"), "--allow-failures"],
            ]
            .concat(),
            &d,
        );
        assert_eq!(code, 0, "{err}");
        let (code, out, err) = stampede(
            &[
                &base[..],
                &[
                    "--threshold",
                    "http_req_duration: p(95)<1000",
                    "--threshold",
                    "http_req_failed: rate<0.01",
                    "--baseline",
                    &p("base.json"),
                    "--baseline-rule",
                    "fail: p(95) +1000%",
                    "--baseline-rule",
                    "warn: rps -50%",
                    "--junit",
                    &p("junit.xml"),
                    "--html",
                    &p("report.html"),
                ],
            ]
            .concat(),
            &d,
        );
        // The injected 20% errors on one endpoint lose the error-rate threshold.
        assert_eq!(code, 99, "{out}\n{err}");
    })
    .await
    .unwrap();
    dir
}

fn xmllint(xml: &Path) -> (bool, String) {
    let o = Command::new("xmllint")
        .args(["--noout", "--schema", &junit_xsd()])
        .arg(xml)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_junit_file_validates_against_the_junit_schema() {
    if let Err(e) = tools() {
        panic!("the report tests need chromium and xmllint: {e}");
    }
    let dir = reports("report-junit").await;
    let junit = dir.join("junit.xml");
    let (ok, err) = xmllint(&junit);
    assert!(ok, "{err}\n{}", std::fs::read_to_string(&junit).unwrap());
    let text = std::fs::read_to_string(&junit).unwrap();
    assert!(
        text.contains(r#"<failure message="✗ http_req_failed: rate&lt;0.01"#),
        "{text}"
    );
    assert!(
        text.contains(r#"name="fail: p(95) +1000% [overall]""#),
        "{text}"
    );
    // The validator is not a rubber stamp: a test case without a name is refused.
    let broken = dir.join("broken.xml");
    std::fs::write(
        &broken,
        text.replacen(r#" name="http_req_failed"#, r#" label="x"#, 1),
    )
    .unwrap();
    assert!(
        !xmllint(&broken).0,
        "a nameless test case must not validate"
    );
}

/// Pixels close to `rgb`: chart lines are anti-aliased, their middle keeps the colour.
fn count_pixels(png_path: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    buf[..info.buffer_size()]
        .chunks(channels)
        .filter(|px| (0..3).all(|i| px[i].abs_diff(rgb[i]) <= 24))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_renders_its_charts_offline_in_chromium() {
    if let Err(e) = tools() {
        panic!("the report tests need chromium and xmllint: {e}");
    }
    let dir = reports("report-html").await;
    let html = dir.join("report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    for part in [
        "Requests and errors per second",
        "Request duration percentiles",
        "Active VUs",
        "GET /api/v1/products",
        "http_req_failed: rate&lt;0.01",
        "fail: p(95) +1000%",
        "verdict fail",
    ] {
        assert!(text.contains(part), "{part:?} missing from the report");
    }
    // Nothing in the file points off the machine (the only URL is the loopback target).
    for (i, _) in text.match_indices("http") {
        let rest = &text[i..];
        assert!(
            rest.starts_with("http_") || rest.starts_with("http://127.0.0.1"),
            "{}",
            &rest[..rest.len().min(60)]
        );
    }
    assert!(
        !text.contains("<script") && !text.contains("src="),
        "self-contained"
    );

    let (shot, page_urls) = render(&dir, &html);
    // Each chart's line colour is on screen: the SVG charts rendered.
    for (what, rgb) in [
        ("requests/s line", [0x09, 0x69, 0xda]),
        ("p(95) line", [0xbf, 0x87, 0x00]),
        ("VUs line", [0x82, 0x50, 0xdf]),
    ] {
        let n = count_pixels(&shot, rgb);
        assert!(
            n > 150,
            "{what}: only {n} pixels of its colour in {}",
            shot.display()
        );
    }
    assert!(
        page_urls.is_empty(),
        "the report made requests: {page_urls:?}"
    );

    // The check is not blind: a page with one remote image is caught, and the
    // loopback listener standing in for "the internet" sees the connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        listener.accept().is_ok()
    });
    let leaky = dir.join("leaky.html");
    std::fs::write(
        &leaky,
        format!(r#"<!DOCTYPE html><img src="http://127.0.0.1:{port}/pixel.png">"#),
    )
    .unwrap();
    let (_, leaked) = render(&dir, &leaky);
    assert!(
        leaked
            .iter()
            .any(|u| u.contains(&format!("127.0.0.1:{port}"))),
        "the net log check missed a page request: {leaked:?}"
    );
    assert!(seen.join().unwrap());
}

/// Opens `html` in headless Chromium; returns its screenshot and the http(s)/ws URLs
/// the page itself asked for (from the network log; the browser's own background
/// requests, which carry no initiator, are not the page's doing).
fn render(dir: &Path, html: &Path) -> (PathBuf, Vec<String>) {
    let stem = html.file_stem().unwrap().to_str().unwrap();
    let shot = dir.join(format!("{stem}.png"));
    let netlog = dir.join(format!("{stem}-netlog.json"));
    let profile = dir.join(format!("{stem}-profile"));
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1000,2600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&netlog).unwrap()).expect("net log JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| e["params"]["initiator"] != "not an origin")
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| u.starts_with("http") || u.starts_with("ws"))
        .map(str::to_string)
        .collect();
    urls.sort();
    urls.dedup();
    (shot, urls)
}
