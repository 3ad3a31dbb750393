//! The seed's OAuth journey: a password grant once per user, a refresh-token grant
//! every N seconds (or when a token is refused), and the reporting API in between:
//! dashboard (5) and usage report (2).

use std::time::Duration;

use serde::Deserialize;
use stampede_sdk::{Result, Task, User, Wait, check, env_or, fail, http, now};

struct Analyst {
    access: String,
    refresh: String,
    obtained: Duration,
    refresh_after: Duration,
}

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
    expires_in: u64,
}

impl User for Analyst {
    const TASKS: &'static [Task<Self>] = &[
        Task::new("dashboard", 5, Self::dashboard),
        Task::new("usage_report", 2, Self::usage_report),
    ];

    fn wait() -> Wait {
        let min = env_or("WAIT_MIN_MS", "1000").parse().unwrap_or(1000);
        let max = env_or("WAIT_MAX_MS", "3000").parse().unwrap_or(3000);
        Wait::between_ms(min, max)
    }

    fn on_start() -> Result<Self> {
        let username = env_or("USERNAME", "qa@example.com");
        let password = env_or("PASSWORD", "demo-password");
        let t = token_request(
            "POST /oauth/token (password)",
            &[
                ("grant_type", "password"),
                ("username", &username),
                ("password", &password),
                ("scope", "reports"),
            ],
        )?;
        let mut a = Analyst {
            access: String::new(),
            refresh: String::new(),
            obtained: Duration::ZERO,
            refresh_after: Duration::ZERO,
        };
        a.keep(t);
        Ok(a)
    }
}

fn token_request(name: &str, grant: &[(&str, &str)]) -> Result<Tokens> {
    let id = env_or("CLIENT_ID", "demo-client");
    let secret = env_or("CLIENT_SECRET", "demo-secret");
    let mut form = grant.to_vec();
    form.extend([
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
    ]);
    let r = http::post("/oauth/token")
        .name(name)
        .form(&form)
        .read_body()
        .send()?;
    if !check("token issued", r.status() == 200) {
        fail!("{name} refused with status {}: {}", r.status(), r.text()?);
    }
    r.json()
}

impl Analyst {
    fn keep(&mut self, t: Tokens) {
        // Refresh after REFRESH_AFTER_S, and always before 80% of the token's life.
        let life = Duration::from_millis(t.expires_in * 800);
        let after = env_or("REFRESH_AFTER_S", "240")
            .parse::<f64>()
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(240));
        self.refresh_after = after.min(life);
        self.access = t.access_token;
        self.refresh = t.refresh_token;
        self.obtained = now();
    }

    fn refresh(&mut self) -> Result<()> {
        let old = std::mem::take(&mut self.refresh);
        let t = token_request(
            "POST /oauth/token (refresh)",
            &[("grant_type", "refresh_token"), ("refresh_token", &old)],
        )?;
        self.keep(t);
        Ok(())
    }

    /// A GET with a live token: refreshed when due, and once more if the API refuses it.
    fn authorized_get(&mut self, name: &str, url: &str, query: &[(&str, &str)]) -> Result<()> {
        if now() - self.obtained >= self.refresh_after {
            self.refresh()?;
        }
        for attempt in 0..2 {
            let r = http::get(url)
                .query_pairs(query)
                .bearer(&self.access)
                .name(name)
                .send()?;
            if r.status() == 401 && attempt == 0 {
                check("token accepted", false);
                self.refresh()?;
                continue;
            }
            check("token accepted", r.status() != 401);
            r.expect_status(200)?;
            return Ok(());
        }
        fail!("{name}: a fresh token was refused too")
    }

    fn dashboard(&mut self) -> Result<()> {
        self.authorized_get(
            "GET /api/v2/dashboard/summary",
            "/api/v2/dashboard/summary",
            &[("range", "7d")],
        )
    }

    fn usage_report(&mut self) -> Result<()> {
        let team = env_or("TEAM_ID", "team-42");
        self.authorized_get(
            "GET /api/v2/reports/usage",
            "/api/v2/reports/usage",
            &[("teamId", &team), ("period", "month")],
        )
    }
}

stampede_sdk::user!(Analyst);
