//! The catalogue: a few hundred generated products, listed by page and viewed by SKU.

use http::StatusCode;
use serde_json::{Value, json};

use super::wire::{Resp, error, json_resp, query};

const PRODUCTS: u32 = 300;
const FIRST_SKU: u32 = 104_400;
const CATEGORIES: [&str; 5] = ["electronics", "books", "home", "toys", "garden"];
/// Products of the product brief's scripts, beside the generated ones, so they run
/// against the demo unchanged: (SKU, category).
const BRIEF_PRODUCTS: [(&str, &str); 2] =
    [("SKU-209871", "accessories"), ("SKU-330145", "home-office")];

#[derive(Debug, Clone)]
pub struct Product {
    pub sku: String,
    name: String,
    category: &'static str,
    pub price_cents: u64,
    stock: u32,
}

pub struct Catalog {
    products: Vec<Product>,
}

impl Catalog {
    pub fn generate() -> Self {
        let brief = BRIEF_PRODUCTS.iter().map(|(sku, category)| Product {
            sku: sku.to_string(),
            name: format!("Brief product {sku}"),
            category,
            price_cents: 4_999,
            stock: 100,
        });
        let products = (0..PRODUCTS)
            .map(|i| Product {
                sku: format!("SKU-{}", FIRST_SKU + i),
                name: format!("Demo product {i}"),
                category: CATEGORIES[(i as usize) % CATEGORIES.len()],
                price_cents: 199 + (i as u64 * 7919) % 50_000,
                // Never zero, so any product can be ordered.
                stock: 1 + (i * 37) % 120,
            })
            .chain(brief)
            .collect();
        Catalog { products }
    }

    pub fn get(&self, sku: &str) -> Option<&Product> {
        let n: u32 = sku.strip_prefix("SKU-")?.parse().ok()?;
        match n.checked_sub(FIRST_SKU).filter(|i| *i < PRODUCTS) {
            Some(i) => self.products.get(i as usize),
            None => self.products[PRODUCTS as usize..]
                .iter()
                .find(|p| p.sku == sku),
        }
    }

    pub fn view(&self, sku: &str) -> Resp {
        match self.get(sku) {
            Some(p) => json_resp(StatusCode::OK, &product_json(p)),
            None => error(StatusCode::NOT_FOUND, "no such product"),
        }
    }

    pub fn list(&self, uri: &http::Uri) -> Resp {
        let q = query(uri);
        let page: usize = q
            .get("page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .max(1);
        let limit: usize = q
            .get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20)
            .clamp(1, 100);
        let category = q.get("category").filter(|c| !c.is_empty());
        if let Some(c) = category
            && !CATEGORIES.contains(&c.as_str())
            && !BRIEF_PRODUCTS.iter().any(|(_, bc)| bc == c)
        {
            return error(StatusCode::BAD_REQUEST, "unknown category");
        }
        let mut items: Vec<&Product> = self
            .products
            .iter()
            .filter(|p| category.is_none_or(|c| p.category == c))
            .collect();
        match q.get("sort").map(String::as_str) {
            Some("price") | Some("price_asc") => items.sort_by_key(|p| p.price_cents),
            Some("-price") | Some("price_desc") => {
                items.sort_by_key(|p| std::cmp::Reverse(p.price_cents))
            }
            Some("name") => items.sort_by(|a, b| a.name.cmp(&b.name)),
            Some("popularity") => items.sort_by_key(|p| std::cmp::Reverse(p.stock)),
            None | Some("") | Some("relevance") => {}
            Some(_) => return error(StatusCode::BAD_REQUEST, "unknown sort"),
        }
        let total = items.len();
        let page_items: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * limit)
            .take(limit)
            .map(product_json)
            .collect();
        json_resp(
            StatusCode::OK,
            &json!({"items": page_items, "page": page, "limit": limit, "total": total}),
        )
    }
}

fn product_json(p: &Product) -> Value {
    json!({
        "sku": p.sku,
        "name": p.name,
        "category": p.category,
        "price": p.price_cents as f64 / 100.0,
        "stock": p.stock,
    })
}
