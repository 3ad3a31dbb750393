//! Customer imports: a multipart CSV upload becomes a job that completes in the
//! background, row by row; its status can be polled and the jobs listed.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Value, json};

use super::wire::{DemoStats, Resp, error, json_resp, query};

/// `customer_sync` is the product brief's import type.
const IMPORT_TYPES: [&str; 3] = ["full", "incremental", "customer_sync"];

const STATUSES: [&str; 3] = ["queued", "processing", "completed"];
/// A job waits this long before it starts on its rows.
const QUEUE_TIME: Duration = Duration::from_millis(50);

#[derive(Clone)]
struct Job {
    status: &'static str,
    import_type: String,
    notify: bool,
    rows_total: u64,
    rows_valid: u64,
    /// Rows written so far (all valid ones once completed).
    rows_imported: u64,
}

impl Job {
    fn json(&self, id: u64) -> Value {
        json!({
            "jobId": id.to_string(),
            "status": self.status,
            "importType": self.import_type,
            "notifyOnCompletion": self.notify,
            "rowsTotal": self.rows_total,
            "rowsImported": self.rows_imported,
            "rowsRejected": if self.status == "completed" { self.rows_total - self.rows_valid } else { 0 },
        })
    }
}

pub struct Imports {
    stats: Arc<DemoStats>,
    /// Processing time per row (`--import-row-time`).
    row_time: Duration,
    jobs: Arc<Mutex<BTreeMap<u64, Job>>>,
    next: AtomicU64,
}

/// What an upload carried, once its parts were read.
struct Upload {
    csv: Option<Bytes>,
    import_type: Option<String>,
    notify: bool,
}

async fn read_parts(headers: &HeaderMap, body: Bytes) -> Result<Upload, String> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multer::parse_boundary(ct)
        .map_err(|_| "expected a multipart/form-data body with a boundary".to_string())?;
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut up = Upload {
        csv: None,
        import_type: None,
        notify: false,
    };
    while let Some(field) = parts
        .next_field()
        .await
        .map_err(|e| format!("malformed multipart body: {e}"))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let data = field
            .bytes()
            .await
            .map_err(|e| format!("malformed multipart part {name:?}: {e}"))?;
        match name.as_str() {
            "file" => up.csv = Some(data),
            "importType" => up.import_type = Some(String::from_utf8_lossy(&data).into_owned()),
            "notifyOnCompletion" => up.notify = matches!(&data[..], b"true" | b"1"),
            _ => {}
        }
    }
    Ok(up)
}

/// (data rows, valid rows): a valid row has an `email` containing `@`.
fn count_rows(csv_data: &[u8]) -> Result<(u64, u64), String> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_data);
    let email = r
        .headers()
        .map_err(|e| format!("unreadable CSV header: {e}"))?
        .iter()
        .position(|h| h.eq_ignore_ascii_case("email"))
        .ok_or("the CSV needs an email column")?;
    let (mut total, mut valid) = (0, 0);
    for rec in r.records() {
        total += 1;
        if rec.is_ok_and(|rec| rec.get(email).is_some_and(|e| e.contains('@'))) {
            valid += 1;
        }
    }
    Ok((total, valid))
}

impl Imports {
    pub fn new(stats: Arc<DemoStats>, row_time: Duration) -> Self {
        Imports {
            stats,
            row_time,
            jobs: Arc::default(),
            next: AtomicU64::new(1),
        }
    }

    /// `POST /api/v1/imports/customers`, multipart: `file` (CSV), `importType`,
    /// `notifyOnCompletion` → 202 `{jobId}`.
    pub async fn upload(&self, headers: &HeaderMap, body: Bytes) -> Resp {
        let reject = |status, msg: &str| {
            DemoStats::add(&self.stats.imports_rejected);
            error(status, msg)
        };
        let up = match read_parts(headers, body).await {
            Ok(up) => up,
            Err(e) => return reject(StatusCode::BAD_REQUEST, &e),
        };
        let Some(csv_data) = up.csv else {
            return reject(StatusCode::BAD_REQUEST, "the 'file' part is required");
        };
        let import_type = up.import_type.unwrap_or_else(|| "full".into());
        if !IMPORT_TYPES.contains(&import_type.as_str()) {
            return reject(
                StatusCode::UNPROCESSABLE_ENTITY,
                "importType must be full, incremental or customer_sync",
            );
        }
        let (rows_total, rows_valid) = match count_rows(&csv_data) {
            Ok(n) => n,
            Err(e) => return reject(StatusCode::UNPROCESSABLE_ENTITY, &e),
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let job = Job {
            status: "queued",
            import_type,
            notify: up.notify,
            rows_total,
            rows_valid,
            rows_imported: 0,
        };
        let body = job.json(id);
        self.jobs.lock().expect("jobs").insert(id, job);
        DemoStats::add(&self.stats.imports_accepted);
        self.stats
            .import_rows_received
            .fetch_add(rows_total, Ordering::Relaxed);
        self.process(id, rows_valid);
        json_resp(StatusCode::ACCEPTED, &body)
    }

    /// Runs a job in the background: queued, then processing, then completed.
    fn process(&self, id: u64, rows: u64) {
        let (jobs, stats) = (self.jobs.clone(), self.stats.clone());
        let work = (self.row_time * rows as u32).min(Duration::from_secs(5));
        tokio::spawn(async move {
            tokio::time::sleep(QUEUE_TIME).await;
            let set = |status, imported| {
                if let Some(j) = jobs.lock().expect("jobs").get_mut(&id) {
                    j.status = status;
                    j.rows_imported = imported;
                }
            };
            set("processing", rows / 2);
            tokio::time::sleep(work).await;
            set("completed", rows);
            stats
                .import_rows_imported
                .fetch_add(rows, Ordering::Relaxed);
            DemoStats::add(&stats.import_jobs_completed);
        });
    }

    /// `GET /api/v1/imports/{jobId}/status`.
    pub fn status(&self, id: &str) -> Resp {
        DemoStats::add(&self.stats.import_status_polls);
        let jobs = self.jobs.lock().expect("jobs");
        match id.parse().ok().and_then(|id| Some((id, jobs.get(&id)?))) {
            Some((id, j)) => json_resp(StatusCode::OK, &j.json(id)),
            None => error(StatusCode::NOT_FOUND, "no such import job"),
        }
    }

    /// `GET /api/v1/imports?limit=&status=`, newest first.
    pub fn list(&self, uri: &http::Uri) -> Resp {
        DemoStats::add(&self.stats.import_lists);
        let q = query(uri);
        let limit: usize = q
            .get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20)
            .clamp(1, 100);
        let status = q.get("status").filter(|s| !s.is_empty());
        if status.is_some_and(|s| !STATUSES.contains(&s.as_str())) {
            return error(
                StatusCode::BAD_REQUEST,
                "status must be queued, processing or completed",
            );
        }
        let jobs = self.jobs.lock().expect("jobs");
        let matching = jobs
            .iter()
            .rev()
            .filter(|(_, j)| status.is_none_or(|s| j.status == s));
        let total = matching.clone().count();
        let items: Vec<Value> = matching.take(limit).map(|(id, j)| j.json(*id)).collect();
        json_resp(StatusCode::OK, &json!({"items": items, "total": total}))
    }
}

#[cfg(test)]
mod tests {
    use super::count_rows;

    #[test]
    fn csv_rows_are_counted_and_validated() {
        let csv = b"email,name\na@x.io,A\nnot-an-email,B\n\"c@x.io\",\"C, Jr\"\nd@x.io\n";
        assert_eq!(count_rows(csv), Ok((4, 3)));
        assert!(
            count_rows(b"name\nA\n")
                .unwrap_err()
                .contains("email column")
        );
    }
}
