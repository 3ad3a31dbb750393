//! The seed's e-commerce checkout journey: each user logs in and opens a cart once,
//! then browses the catalogue (4), adds what it saw to the cart (3) and checks out (1).
//! Failures carry a message, as Locust's `catch_response` does.

use serde::Deserialize;
use serde_json::json;
use stampede_sdk::{Result, Task, User, Wait, check, env_or, fail, http, random};

const CATEGORIES: [&str; 5] = ["electronics", "books", "home", "toys", "garden"];
const SORTS: [&str; 3] = ["relevance", "price_asc", "price_desc"];

struct Shopper {
    token: String,
    cart: u64,
    /// SKUs seen while browsing, to add to the cart.
    seen: Vec<String>,
    items_in_cart: u32,
}

#[derive(Deserialize)]
struct Login {
    access_token: String,
}

#[derive(Deserialize)]
struct Cart {
    id: u64,
}

#[derive(Deserialize)]
struct Page {
    items: Vec<Product>,
}

#[derive(Deserialize)]
struct Product {
    sku: String,
}

#[derive(Deserialize)]
struct Order {
    status: String,
}

impl User for Shopper {
    const TASKS: &'static [Task<Self>] = &[
        Task::new("browse", 4, Self::browse),
        Task::new("add_to_cart", 3, Self::add_to_cart),
        Task::new("checkout", 1, Self::checkout),
    ];

    fn wait() -> Wait {
        let min = env_or("WAIT_MIN_MS", "1000").parse().unwrap_or(1000);
        let max = env_or("WAIT_MAX_MS", "3000").parse().unwrap_or(3000);
        Wait::between_ms(min, max)
    }

    fn on_start() -> Result<Self> {
        let r = http::post("/api/v1/auth/login")
            .name("POST /api/v1/auth/login")
            .json(&json!({
                "email": env_or("EMAIL", "qa@example.com"),
                "password": env_or("PASSWORD", "demo-password"),
            }))
            .read_body()
            .send()?;
        if !check("login succeeded", r.status() == 200) {
            fail!("login failed with status {}", r.status());
        }
        let token = r.json::<Login>()?.access_token;
        let cart = new_cart(&token)?;
        Ok(Shopper {
            token,
            cart,
            seen: Vec::new(),
            items_in_cart: 0,
        })
    }
}

fn new_cart(token: &str) -> Result<u64> {
    let r = http::post("/api/v1/carts")
        .name("POST /api/v1/carts")
        .bearer(token)
        .json(&json!({ "currency": env_or("CURRENCY", "USD") }))
        .read_body()
        .send()?
        .ensure(|r| r.status() == 201, "cart not created")?;
    Ok(r.json::<Cart>()?.id)
}

impl Shopper {
    fn browse(&mut self) -> Result<()> {
        let page = random::range(1, 3).to_string();
        let r = http::get("/api/v1/products")
            .query_pairs(&[
                ("category", random::choose(&CATEGORIES).unwrap_or(&"books")),
                ("page", &page),
                ("limit", "20"),
                ("sort", random::choose(&SORTS).unwrap_or(&"relevance")),
            ])
            .bearer(&self.token)
            .name("GET /api/v1/products")
            .read_body()
            .send()?
            .expect_status(200)?;
        let items = r.json::<Page>()?.items;
        if !check("catalogue page has products", !items.is_empty()) {
            fail!("empty catalogue page {page}");
        }
        self.seen = items.into_iter().map(|p| p.sku).collect();
        Ok(())
    }

    fn add_to_cart(&mut self) -> Result<()> {
        let sku = random::choose(&self.seen)
            .cloned()
            .unwrap_or_else(|| "SKU-104582".into());
        let r = http::post(format!("/api/v1/carts/{}/items", self.cart))
            .name("POST /api/v1/carts/:id/items")
            .bearer(&self.token)
            .json(&json!({ "productId": sku, "quantity": random::range(1, 3) }))
            .send()?;
        check("item added", r.status() == 201);
        r.ensure(|r| r.status() == 201, &format!("could not add {sku}"))?;
        self.items_in_cart += 1;
        Ok(())
    }

    fn checkout(&mut self) -> Result<()> {
        // An order needs something in the cart, as a real shopper's would.
        if self.items_in_cart == 0 {
            self.add_to_cart()?;
        }
        let r = http::post("/api/v1/orders")
            .name("POST /api/v1/orders")
            .bearer(&self.token)
            .json(&json!({
                "cartId": self.cart,
                "paymentMethod": "card",
                "shippingAddress": {
                    "name": "QA Tester",
                    "line1": "1 Load Street",
                    "city": "Springfield",
                    "postalCode": "12345",
                    "country": "US",
                },
            }))
            .read_body()
            .send()?
            .expect_status(201)?;
        let confirmed = r.json::<Order>()?.status == "confirmed";
        if !check("order confirmed", confirmed) {
            fail!("order not confirmed");
        }
        // The cart is closed by the order: shop on with a new one.
        self.cart = new_cart(&self.token)?;
        self.items_in_cart = 0;
        Ok(())
    }
}

stampede_sdk::user!(Shopper);
