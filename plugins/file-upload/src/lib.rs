//! The seed's file-import journey: upload a customers CSV as multipart (with an API
//! key), poll the import job until it completes, and list recent imports.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize;
use stampede_sdk::http::Multipart;
use stampede_sdk::{Result, Task, User, Wait, check, env_or, fail, http, iteration, sleep, vu_id};

struct Importer {
    api_key: String,
    rows: u32,
    poll: Duration,
    max_polls: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    job_id: String,
    status: String,
    #[serde(default)]
    rows_imported: u64,
}

impl User for Importer {
    const TASKS: &'static [Task<Self>] = &[
        Task::new("upload_customers", 2, Self::upload_customers),
        Task::new("list_imports", 1, Self::list_imports),
    ];

    fn wait() -> Wait {
        let min = env_or("WAIT_MIN_MS", "1000").parse().unwrap_or(1000);
        let max = env_or("WAIT_MAX_MS", "3000").parse().unwrap_or(3000);
        Wait::between_ms(min, max)
    }

    fn on_start() -> Result<Self> {
        Ok(Importer {
            api_key: env_or("API_KEY", "demo-api-key"),
            rows: env_or("ROWS", "100").parse().unwrap_or(100),
            poll: Duration::from_millis(env_or("POLL_MS", "500").parse().unwrap_or(500)),
            max_polls: env_or("MAX_POLLS", "30").parse().unwrap_or(30),
        })
    }
}

impl Importer {
    /// A CSV of `rows` customers, unique to this VU and iteration.
    fn csv(&self) -> Result<String> {
        let mut csv = String::from("email,first_name,last_name,company\n");
        let (vu, it) = (vu_id(), iteration());
        for i in 0..self.rows {
            writeln!(
                csv,
                "user{vu}.{it}.{i}@example.com,Test,User {i},\"Acme, Inc\""
            )?;
        }
        Ok(csv)
    }

    fn upload_customers(&mut self) -> Result<()> {
        let form = Multipart::new()
            .file("file", "customers.csv", "text/csv", self.csv()?)
            .text("importType", "incremental")
            .text("notifyOnCompletion", "false");
        let r = http::post("/api/v1/imports/customers")
            .name("POST /api/v1/imports/customers")
            .header("X-API-Key", &self.api_key)
            .multipart(form)
            .read_body()
            .send()?;
        check("import accepted", r.status() == 202);
        let job: Job = r.expect_status(202)?.json()?;
        for _ in 0..self.max_polls {
            sleep(self.poll);
            let s: Job = http::get(format!("/api/v1/imports/{}/status", job.job_id))
                .name("GET /api/v1/imports/:jobId/status")
                .header("X-API-Key", &self.api_key)
                .read_body()
                .send()?
                .expect_status(200)?
                .json()?;
            if s.status == "completed" {
                let all = s.rows_imported == u64::from(self.rows);
                if !check("every row imported", all) {
                    fail!("imported {} of {} rows", s.rows_imported, self.rows);
                }
                return Ok(());
            }
        }
        check("import completed in time", false);
        fail!(
            "job {} not completed after {} polls",
            job.job_id,
            self.max_polls
        )
    }

    fn list_imports(&mut self) -> Result<()> {
        let r = http::get("/api/v1/imports")
            .query_pairs(&[("limit", "10"), ("status", "completed")])
            .name("GET /api/v1/imports")
            .header("X-API-Key", &self.api_key)
            .send()?;
        check("imports listed", r.status() == 200);
        r.expect_status(200)?;
        Ok(())
    }
}

stampede_sdk::user!(Importer);
