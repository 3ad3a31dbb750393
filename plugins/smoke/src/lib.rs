//! A basic authenticated smoke load test: log in once per user, then browse the
//! catalogue, view a product and check the profile, with a bearer token.

use serde::Deserialize;
use serde_json::json;
use stampede_sdk::{Result, Task, User, Wait, check, env, env_or, fail, http};

struct Smoke {
    token: String,
}

#[derive(Deserialize)]
struct Login {
    access_token: String,
}

impl User for Smoke {
    const TASKS: &'static [Task<Self>] = &[
        Task::new("list_products", 3, Self::list_products),
        Task::new("view_product", 2, Self::view_product),
        Task::new("my_profile", 1, Self::my_profile),
    ];

    fn wait() -> Wait {
        let min = env_or("WAIT_MIN_MS", "1000").parse().unwrap_or(1000);
        let max = env_or("WAIT_MAX_MS", "3000").parse().unwrap_or(3000);
        Wait::between_ms(min, max)
    }

    fn on_start() -> Result<Self> {
        // The language's own environment API sees the run's --env, and only it.
        check(
            "environment is --env",
            std::env::var("WAIT_MIN_MS").ok() == env("WAIT_MIN_MS"),
        );
        let email = env_or("EMAIL", "qa@example.com");
        let password = env_or("PASSWORD", "demo-password");
        let r = http::post("/api/v1/auth/login")
            .name("POST /api/v1/auth/login")
            .json(&json!({ "email": email, "password": password, "rememberMe": true }))
            .read_body()
            .send()?;
        if !check("login succeeded", r.status() == 200) {
            fail!("login failed with status {}", r.status());
        }
        let login: Login = r.json()?;
        Ok(Smoke {
            token: login.access_token,
        })
    }
}

impl Smoke {
    fn list_products(&mut self) -> Result<()> {
        let r = http::get("/api/v1/products")
            .query("category", "electronics")
            .query("page", "1")
            .query("limit", "20")
            .bearer(&self.token)
            .name("GET /api/v1/products")
            .send()?;
        check("products listed", r.status() == 200);
        r.error_for_status()?;
        Ok(())
    }

    fn view_product(&mut self) -> Result<()> {
        let r = http::get("/api/v1/products/SKU-104582")
            .bearer(&self.token)
            .name("GET /api/v1/products/:sku")
            .send()?;
        check("product found", r.status() == 200);
        r.error_for_status()?;
        Ok(())
    }

    fn my_profile(&mut self) -> Result<()> {
        let r = http::get("/api/v1/users/me")
            .bearer(&self.token)
            .name("GET /api/v1/users/me")
            .send()?;
        check("profile authorized", r.status() == 200);
        r.error_for_status()?;
        Ok(())
    }
}

stampede_sdk::user!(Smoke);
