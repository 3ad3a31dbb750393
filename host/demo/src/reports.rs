//! The v2 reporting API behind OAuth tokens: a dashboard summary and a usage report,
//! computed from what the shop has really seen.

use std::sync::atomic::Ordering;

use http::StatusCode;
use serde_json::json;

use super::orders::Orders;
use super::wire::{DemoStats, Resp, error, get, json_resp, query};

const RANGES: [&str; 4] = ["24h", "7d", "30d", "90d"];

/// `GET /api/v2/dashboard/summary?range=7d`.
pub fn dashboard(stats: &DemoStats, shop_orders: &Orders, _user: &str, uri: &http::Uri) -> Resp {
    let q = query(uri);
    let range = q.get("range").map(String::as_str).unwrap_or("7d");
    if !RANGES.contains(&range) {
        return error(StatusCode::BAD_REQUEST, "range must be 24h, 7d, 30d or 90d");
    }
    DemoStats::add(&stats.dashboard_views);
    let carts = get(&stats.carts_created);
    let orders = get(&stats.orders_placed);
    json_resp(
        StatusCode::OK,
        &json!({
            "range": range,
            "orders": orders,
            "revenue": shop_orders.revenue_cents.load(Ordering::Relaxed) as f64 / 100.0,
            "carts": carts,
            "conversionRate": if carts == 0 { 0.0 } else { orders as f64 / carts as f64 },
            "logins": get(&stats.logins) + get(&stats.oauth_grants),
        }),
    )
}

/// `GET /api/v2/reports/usage?teamId=&period=`: period is `day`, `week`, `month` (or
/// the product brief's `current_month`) or a month such as `2026-11`.
pub fn usage(stats: &DemoStats, _user: &str, uri: &http::Uri) -> Resp {
    let q = query(uri);
    let Some(team) = q.get("teamId").filter(|t| !t.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "teamId is required");
    };
    let period = q.get("period").map(String::as_str).unwrap_or("month");
    let month = |p: &str| {
        p.len() == 7
            && p.as_bytes()[4] == b'-'
            && p[..4].parse::<u16>().is_ok()
            && p[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
    };
    if !["day", "week", "month", "current_month"].contains(&period) && !month(period) {
        return error(
            StatusCode::BAD_REQUEST,
            "period must be day, week, month or YYYY-MM",
        );
    }
    DemoStats::add(&stats.usage_reports);
    json_resp(
        StatusCode::OK,
        &json!({
            "teamId": team,
            "period": period,
            "apiCalls": get(&stats.requests),
            "importsRun": get(&stats.import_jobs_completed),
            "rowsImported": get(&stats.import_rows_imported),
        }),
    )
}
