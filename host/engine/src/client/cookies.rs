//! A VU's cookie jar, bounded as browsers bound theirs (RFC 6265 §6.1's minimums): a
//! target that sets cookies without end must not grow the host, whose memory is
//! outside every guest limit.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cookie_store::CookieStore;
use url::Url;

/// Largest `Set-Cookie` kept, bytes (name, value and attributes).
pub const MAX_COOKIE_BYTES: usize = 4096;
/// Cookies kept per domain; past it, the oldest of that domain goes.
pub const MAX_PER_DOMAIN: usize = 50;
/// Cookies kept in all by default (`--max-cookies`); past it, the oldest goes.
pub const MAX_COOKIES: usize = 3000;
/// Bytes of cookies kept per VU by default (`--max-cookie-jar-kib`); past it, the
/// oldest go.
pub const MAX_JAR_BYTES: usize = 1 << 20;

/// The jars' bounds, and run-wide counts of what they refused or evicted, for the
/// summary's warning.
#[derive(Debug)]
pub struct CookieLimits {
    /// Cookies one VU's jar keeps in all.
    pub max_cookies: usize,
    /// Bytes of cookies one VU's jar keeps.
    pub max_bytes: usize,
    pub refused: AtomicU64,
    pub evicted: AtomicU64,
}

impl Default for CookieLimits {
    fn default() -> Self {
        CookieLimits::new(MAX_COOKIES, MAX_JAR_BYTES)
    }
}

impl CookieLimits {
    pub fn new(max_cookies: usize, max_bytes: usize) -> Self {
        CookieLimits {
            max_cookies,
            max_bytes,
            refused: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
        }
    }
}

/// What a scenario asks of its VU's jar (`http.cookies-for`, `set-cookie`,
/// `clear-cookies`).
#[derive(Debug)]
pub enum JarOp {
    Get(Url),
    /// A `Set-Cookie` value, as if the URL had answered with it.
    Set(Url, String),
    /// The cookies sent to the URL (every one with none), or only those of this name.
    Clear(Option<Url>, Option<String>),
}

#[derive(Debug)]
pub enum JarAnswer {
    Cookies(Vec<(String, String)>),
    /// Why not, in one line, if the cookie was refused.
    Stored(Result<(), String>),
    Cleared(u32),
}

/// Why a cookie was not stored.
#[derive(Debug)]
pub enum Refused {
    /// Its size, over [`MAX_COOKIE_BYTES`].
    TooLarge(usize),
    /// Malformed, or for a domain or path the URL cannot set.
    Invalid(cookie_store::CookieError),
}

impl Refused {
    /// One line naming the cookie, the URL and the reason.
    pub fn describe(&self, set_cookie: &str, url: &Url) -> String {
        match self {
            Refused::TooLarge(n) => {
                format!("a cookie of {n} bytes is over the jar's {MAX_COOKIE_BYTES}-byte limit")
            }
            Refused::Invalid(e) => format!("{set_cookie:?} for {url}: {e}"),
        }
    }
}

/// (domain, path, name): how the store keys a cookie.
type Key = (String, String, String);

fn key_of(c: &cookie_store::Cookie<'_>) -> Key {
    (
        c.domain.as_cow().unwrap_or_default().into_owned(),
        c.path.as_ref().to_string(),
        c.name().to_string(),
    )
}

pub struct Jar {
    store: CookieStore,
    /// The cookies held, oldest first, with their sizes.
    order: VecDeque<(Key, usize)>,
    bytes: usize,
    counts: Arc<CookieLimits>,
}

impl Jar {
    pub fn new(counts: Arc<CookieLimits>) -> Self {
        Jar {
            store: CookieStore::new(),
            order: VecDeque::new(),
            bytes: 0,
            counts,
        }
    }

    /// A copy for one request of a batch: it sends what this jar holds, and counts
    /// nothing in the run's figures (what it learns is stored here again, and counted
    /// then).
    pub fn copy_uncounted(&self) -> Jar {
        Jar {
            store: self.store.clone(),
            order: self.order.clone(),
            bytes: self.bytes,
            counts: Arc::new(CookieLimits::new(
                self.counts.max_cookies,
                self.counts.max_bytes,
            )),
        }
    }

    /// Stores one `Set-Cookie` value received from `url`, within the limits; why not,
    /// when it was refused (a server's refused cookies are only counted, so nothing is
    /// formatted here).
    pub fn set(&mut self, set_cookie: &str, url: &Url) -> Result<(), Refused> {
        if set_cookie.len() > MAX_COOKIE_BYTES {
            self.counts.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::TooLarge(set_cookie.len()));
        }
        let cookie = cookie_store::Cookie::parse(set_cookie, url).map_err(Refused::Invalid)?;
        let key = key_of(&cookie);
        self.store
            .insert(cookie.into_owned(), url)
            .map_err(Refused::Invalid)?;
        if let Some(i) = self.order.iter().position(|(k, _)| *k == key) {
            let (_, size) = self.order.remove(i).expect("found");
            self.bytes -= size;
        }
        if !self.store.contains_any(&key.0, &key.1, &key.2) {
            // An expired cookie deletes its namesake.
            return Ok(());
        }
        self.bytes += set_cookie.len();
        let domain = key.0.clone();
        self.order.push_back((key, set_cookie.len()));
        // Past a limit, the oldest goes: of this domain first, then of all.
        if self.order.iter().filter(|(k, _)| k.0 == domain).count() > MAX_PER_DOMAIN
            && let Some(i) = self.order.iter().position(|(k, _)| k.0 == domain)
        {
            self.evict(i);
        }
        while self.order.len() > self.counts.max_cookies || self.bytes > self.counts.max_bytes {
            self.evict(0);
        }
        Ok(())
    }

    /// Removes the cookies sent to `url`, or all with no URL (only those named `name`,
    /// if given); how many.
    pub fn remove(&mut self, url: Option<&Url>, name: Option<&str>) -> u32 {
        let named = |c: &&cookie_store::Cookie<'static>| name.is_none_or(|n| c.name() == n);
        let keys: Vec<Key> = match url {
            Some(url) => self
                .store
                .matches(url)
                .into_iter()
                .filter(named)
                .map(|c| key_of(c))
                .collect(),
            None => self.store.iter_any().filter(named).map(key_of).collect(),
        };
        for key in &keys {
            self.store.remove(&key.0, &key.1, &key.2);
            if let Some(i) = self.order.iter().position(|(k, _)| k == key)
                && let Some((_, size)) = self.order.remove(i)
            {
                self.bytes -= size;
            }
        }
        keys.len() as u32
    }

    fn evict(&mut self, i: usize) {
        if let Some(((d, p, n), size)) = self.order.remove(i) {
            self.store.remove(&d, &p, &n);
            self.bytes -= size;
            self.counts.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The cookies to send to `url`, as (name, value).
    pub fn request_values<'a>(&'a self, url: &Url) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.store.get_request_values(url)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jar_keeps_within_browser_like_limits() {
        let counts = Arc::new(CookieLimits::default());
        let mut jar = Jar::new(counts.clone());
        let url: Url = "http://shop.test/a".parse().unwrap();
        // Oversized: refused.
        let big = format!("big={}; Path=/", "x".repeat(5000));
        let e = jar.set(&big, &url).unwrap_err().describe(&big, &url);
        assert!(e.contains("over the jar's 4096-byte limit"), "{e}");
        assert!(jar.is_empty());
        assert_eq!(counts.refused.load(Ordering::Relaxed), 1);
        // 240 cookies on one domain: the newest 50 stay.
        for i in 0..240 {
            jar.set(&format!("c{i}={}; Path=/p{i}", "v".repeat(1000)), &url)
                .unwrap();
        }
        assert_eq!(jar.len(), MAX_PER_DOMAIN);
        assert_eq!(counts.evicted.load(Ordering::Relaxed), 190);
        let sent: Vec<String> = jar
            .request_values(&"http://shop.test/p239".parse().unwrap())
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(sent, ["c239"]);
        assert!(
            jar.request_values(&"http://shop.test/p0".parse().unwrap())
                .next()
                .is_none(),
            "the oldest went"
        );
        // Replacing a cookie does not count it twice.
        jar.set("c239=new; Path=/p239", &url).unwrap();
        assert_eq!(jar.len(), MAX_PER_DOMAIN);
        // Many domains: the byte cap holds.
        for d in 0..200 {
            let u: Url = format!("http://d{d}.test/").parse().unwrap();
            for i in 0..10 {
                jar.set(&format!("k{i}={}", "w".repeat(4000)), &u).unwrap();
            }
        }
        assert!(jar.bytes <= MAX_JAR_BYTES && jar.len() <= MAX_COOKIES);
    }

    #[test]
    fn the_jar_keeps_within_bounds_it_is_given() {
        let counts = Arc::new(CookieLimits::new(5, 1 << 20));
        let mut jar = Jar::new(counts.clone());
        for d in 0..20 {
            let u: Url = format!("http://d{d}.test/").parse().unwrap();
            jar.set("k=v", &u).unwrap();
        }
        assert_eq!(jar.len(), 5);
        assert_eq!(counts.evicted.load(Ordering::Relaxed), 15);
        let counts = Arc::new(CookieLimits::new(3000, 10_000));
        let mut jar = Jar::new(counts.clone());
        for d in 0..20 {
            let u: Url = format!("http://d{d}.test/").parse().unwrap();
            jar.set(&format!("k={}", "v".repeat(1000)), &u).unwrap();
        }
        assert!(jar.bytes <= 10_000 && jar.len() == 9, "{}", jar.len());
    }

    #[test]
    fn a_scenario_sets_and_clears_cookies_by_url() {
        let mut jar = Jar::new(Arc::new(CookieLimits::default()));
        let shop: Url = "http://shop.test/cart/1".parse().unwrap();
        jar.set("a=1; Path=/", &shop).unwrap();
        jar.set("b=2; Path=/cart", &shop).unwrap();
        jar.set(
            "c=3; Domain=other.test",
            &"http://other.test/".parse().unwrap(),
        )
        .unwrap();
        // Malformed, or for a domain the URL cannot set: said, not stored.
        assert!(jar.set("no equals sign", &shop).is_err());
        assert!(jar.set("d=4; Domain=elsewhere.test", &shop).is_err());
        assert_eq!(jar.len(), 3);
        let sent = |jar: &Jar, u: &str| {
            let mut v: Vec<String> = jar
                .request_values(&u.parse().unwrap())
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            v.sort();
            v
        };
        assert_eq!(sent(&jar, "http://shop.test/cart/2"), ["a=1", "b=2"]);
        // Only b is sent to /cart: clearing by that URL and name leaves a.
        assert_eq!(jar.remove(Some(&shop), Some("b")), 1);
        assert_eq!(sent(&jar, "http://shop.test/cart/2"), ["a=1"]);
        assert_eq!(jar.remove(Some(&shop), None), 1);
        assert!(sent(&jar, "http://shop.test/").is_empty());
        assert_eq!(jar.len(), 1, "other.test's cookie stays");
        assert_eq!(jar.bytes, "c=3; Domain=other.test".len());
        // With no URL, every cookie of that name, then every cookie.
        jar.set("a=1", &shop).unwrap();
        jar.set("a=2", &"http://other.test/".parse().unwrap())
            .unwrap();
        assert_eq!(jar.remove(None, Some("a")), 2);
        assert_eq!(jar.remove(None, None), 1);
        assert!(jar.is_empty() && jar.bytes == 0);
    }
}
