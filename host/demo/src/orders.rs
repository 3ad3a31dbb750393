//! Carts and orders: a user's cart collects catalogue items; an order checks the cart
//! and the shipping address and closes the cart. The product brief's test payment
//! (`test-card`) is a staging shop's test mode: it confirms whatever the cart holds, even
//! nothing, and leaves the cart open for more, so the brief's script runs unchanged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use http::StatusCode;
use serde_json::{Value, json};

use super::catalog::Catalog;
use super::wire::{DemoStats, Resp, error, json_body, json_resp};

const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];
const PAYMENT_METHODS: [&str; 4] = ["card", "paypal", "invoice", TEST_PAYMENT];
const TEST_PAYMENT: &str = "test-card";
const ADDRESS_FIELDS: [&str; 4] = ["line1", "city", "postalCode", "country"];

struct Cart {
    owner: String,
    currency: String,
    /// (sku, quantity, unit price in cents)
    items: Vec<(String, u32, u64)>,
    order: Option<u64>,
}

impl Cart {
    fn total_cents(&self) -> u64 {
        self.items.iter().map(|(_, q, p)| *q as u64 * p).sum()
    }

    fn json(&self, id: u64) -> Value {
        json!({
            "id": id,
            "currency": self.currency,
            "items": self.items.iter().map(|(sku, q, p)| json!({
                "productId": sku, "quantity": q, "unitPrice": *p as f64 / 100.0,
            })).collect::<Vec<_>>(),
            "total": self.total_cents() as f64 / 100.0,
            "orderId": self.order,
        })
    }
}

#[derive(Default)]
pub struct Orders {
    carts: Mutex<HashMap<u64, Cart>>,
    next_cart: AtomicU64,
    next_order: AtomicU64,
    /// Sum of placed orders, for the dashboard.
    pub revenue_cents: AtomicU64,
}

/// Parses a cart id from a path or body; unknown forms are simply not found.
fn cart_id(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

impl Orders {
    /// `POST /api/v1/carts` with `{currency}` → 201 `{id}`.
    pub fn create_cart(&self, stats: &DemoStats, user: &str, body: &[u8]) -> Resp {
        let v = match json_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let currency = v["currency"].as_str().unwrap_or("USD").to_ascii_uppercase();
        if !CURRENCIES.contains(&currency.as_str()) {
            return error(StatusCode::UNPROCESSABLE_ENTITY, "unsupported currency");
        }
        let id = self.next_cart.fetch_add(1, Ordering::Relaxed) + 1;
        let cart = Cart {
            owner: user.to_string(),
            currency,
            items: Vec::new(),
            order: None,
        };
        let body = cart.json(id);
        self.carts.lock().expect("carts").insert(id, cart);
        DemoStats::add(&stats.carts_created);
        json_resp(StatusCode::CREATED, &body)
    }

    /// `GET /api/v1/carts/{id}`.
    pub fn cart(&self, user: &str, id: &str) -> Resp {
        let carts = self.carts.lock().expect("carts");
        match id.parse().ok().and_then(|id| Some((id, carts.get(&id)?))) {
            Some((id, c)) if c.owner == user => json_resp(StatusCode::OK, &c.json(id)),
            _ => error(StatusCode::NOT_FOUND, "no such cart"),
        }
    }

    /// `POST /api/v1/carts/{id}/items` with `{productId, quantity}`.
    pub fn add_item(
        &self,
        stats: &DemoStats,
        catalog: &Catalog,
        user: &str,
        id: &str,
        body: &[u8],
    ) -> Resp {
        let v = match json_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let Some(product) = v["productId"].as_str().and_then(|s| catalog.get(s)) else {
            return error(StatusCode::NOT_FOUND, "no such product");
        };
        let quantity = match v["quantity"].as_u64() {
            Some(q @ 1..=99) => q as u32,
            _ => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "quantity must be from 1 to 99",
                );
            }
        };
        let mut carts = self.carts.lock().expect("carts");
        let Some((id, cart)) = id
            .parse()
            .ok()
            .and_then(|id| Some((id, carts.get_mut(&id)?)))
            .filter(|(_, c)| c.owner == user)
        else {
            return error(StatusCode::NOT_FOUND, "no such cart");
        };
        if cart.order.is_some() {
            return error(StatusCode::CONFLICT, "the cart was already ordered");
        }
        match cart.items.iter_mut().find(|(s, _, _)| *s == product.sku) {
            Some(item) => item.1 += quantity,
            None => cart
                .items
                .push((product.sku.clone(), quantity, product.price_cents)),
        }
        DemoStats::add(&stats.items_added);
        json_resp(StatusCode::CREATED, &cart.json(id))
    }

    /// `POST /api/v1/orders` with `{cartId, paymentMethod, shippingAddress}`.
    pub fn place(&self, stats: &DemoStats, user: &str, body: &[u8]) -> Resp {
        let reject = |status, msg: &str| {
            DemoStats::add(&stats.orders_rejected);
            error(status, msg)
        };
        let v = match json_body(body) {
            Ok(v) => v,
            Err(r) => return *r,
        };
        let method = v["paymentMethod"].as_str().unwrap_or_default();
        if !PAYMENT_METHODS.contains(&method) {
            return reject(
                StatusCode::UNPROCESSABLE_ENTITY,
                "paymentMethod must be card, paypal or invoice",
            );
        }
        let addr = &v["shippingAddress"];
        if let Some(missing) = ADDRESS_FIELDS
            .iter()
            .find(|f| addr[**f].as_str().is_none_or(|s| s.trim().is_empty()))
        {
            return reject(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("shippingAddress.{missing} is required"),
            );
        }
        let mut carts = self.carts.lock().expect("carts");
        let Some((id, cart)) = cart_id(&v["cartId"])
            .and_then(|id| Some((id, carts.get_mut(&id)?)))
            .filter(|(_, c)| c.owner == user)
        else {
            return reject(StatusCode::NOT_FOUND, "no such cart");
        };
        let test_mode = method == TEST_PAYMENT;
        if cart.order.is_some() && !test_mode {
            return reject(StatusCode::CONFLICT, "the cart was already ordered");
        }
        if cart.items.is_empty() && !test_mode {
            return reject(StatusCode::BAD_REQUEST, "the cart is empty");
        }
        let order = self.next_order.fetch_add(1, Ordering::Relaxed) + 1;
        let total = cart.total_cents();
        if test_mode {
            cart.items.clear();
        } else {
            cart.order = Some(order);
        }
        self.revenue_cents.fetch_add(total, Ordering::Relaxed);
        DemoStats::add(&stats.orders_placed);
        json_resp(
            StatusCode::CREATED,
            &json!({
                "orderId": order,
                "cartId": id,
                "status": "confirmed",
                "currency": cart.currency,
                "total": total as f64 / 100.0,
            }),
        )
    }
}
