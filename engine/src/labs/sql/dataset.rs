//! The teaching dataset: a small shop, generated deterministically from a
//! seed, so every student (and every grading run) sees the same rows.
//!
//! Two variants exist. [`Variant::Course`] is what students query. The
//! [`Variant::Hidden`] one comes from another seed, with other sizes and
//! deliberate edge cases (a category with no products, more customers who
//! never ordered, ties on prices and on sales); only grading reads it, so
//! an answer made of rows copied from the course dataset fails there.
//!
//! Each variant is generated once per machine into a template file (written
//! under a temporary name, then renamed, so a reader never sees half of
//! one); a student's sandbox starts as a copy of the course template.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use time::{Date, Duration as Days, Month};
use tokio::sync::OnceCell;

/// Bumped whenever the generator's output changes, so stale templates are
/// not reused.
pub const GENERATOR_VERSION: u32 = 1;

/// The shop's schema. No secondary indexes on purpose: students add them.
pub const SCHEMA: &str = "\
CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, parent_id INTEGER REFERENCES categories(id));
CREATE TABLE sellers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL, joined_on TEXT NOT NULL);
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, city TEXT, country TEXT NOT NULL, signed_up_on TEXT NOT NULL, referred_by INTEGER REFERENCES customers(id));
CREATE TABLE products (id INTEGER PRIMARY KEY, seller_id INTEGER NOT NULL REFERENCES sellers(id), category_id INTEGER NOT NULL REFERENCES categories(id), name TEXT NOT NULL, price_cents INTEGER NOT NULL CHECK (price_cents > 0), stock INTEGER NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id), placed_at TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('placed','shipped','delivered','cancelled')));
CREATE TABLE order_items (order_id INTEGER NOT NULL REFERENCES orders(id), product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL CHECK (quantity > 0), unit_price_cents INTEGER NOT NULL, PRIMARY KEY (order_id, product_id));
CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL REFERENCES products(id), customer_id INTEGER NOT NULL REFERENCES customers(id), rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5), body TEXT, created_at TEXT NOT NULL);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL CHECK (balance >= 0));
";

/// Which dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The one students see and query.
    Course,
    /// Another seed with edge cases, for grading only.
    Hidden,
}

/// How many rows of each kind a variant has.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Sellers.
    pub sellers: usize,
    /// Customers.
    pub customers: usize,
    /// Products.
    pub products: usize,
    /// Orders.
    pub orders: usize,
    /// Reviews (at most; only bought products get reviewed).
    pub reviews: usize,
}

impl Variant {
    fn seed(self) -> u64 {
        match self {
            Self::Course => 0x5eed_0001,
            Self::Hidden => 0x5eed_7ea1,
        }
    }

    /// The variant's table sizes.
    pub fn sizes(self) -> Sizes {
        match self {
            Self::Course => Sizes {
                sellers: 50,
                customers: 2000,
                products: 1000,
                orders: 12_000,
                reviews: 8000,
            },
            Self::Hidden => Sizes {
                sellers: 30,
                customers: 1300,
                products: 700,
                orders: 7000,
                reviews: 4000,
            },
        }
    }

    fn file_name(self) -> String {
        let name = match self {
            Self::Course => "course",
            Self::Hidden => "hidden",
        };
        format!("shop-{name}-v{GENERATOR_VERSION}.db")
    }
}

/// Where templates live: one folder per machine and user, shared by every
/// process of that user. It must be a real folder (not a link) that only
/// this user can write; otherwise this process uses a private one of its own,
/// so nobody else can plant a "template" for sandboxes to copy.
fn template_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shared = std::env::temp_dir().join("workbench-sql");
        if private_to_us(&shared) {
            return shared;
        }
        tempfile::Builder::new()
            .prefix("workbench-sql-")
            .tempdir()
            .map(tempfile::TempDir::keep)
            .unwrap_or(shared)
    })
    .clone()
}

/// Whether `dir` is (or now is, once created) a folder only we can write.
#[cfg(unix)]
fn private_to_us(dir: &Path) -> bool {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    let Ok(ours) = tempfile::tempfile().and_then(|f| f.metadata()) else {
        return false;
    };
    std::fs::symlink_metadata(dir)
        .is_ok_and(|m| m.file_type().is_dir() && m.uid() == ours.uid() && m.mode() & 0o022 == 0)
}

#[cfg(not(unix))]
fn private_to_us(dir: &Path) -> bool {
    std::fs::create_dir_all(dir).is_ok()
}

/// The template file of `variant`, generated on first use.
pub async fn template(variant: Variant) -> Result<&'static Path, sqlx::Error> {
    static COURSE: OnceCell<PathBuf> = OnceCell::const_new();
    static HIDDEN: OnceCell<PathBuf> = OnceCell::const_new();
    let cell = match variant {
        Variant::Course => &COURSE,
        Variant::Hidden => &HIDDEN,
    };
    let path = cell
        .get_or_try_init(|| async {
            let path = template_dir().join(variant.file_name());
            let is_file = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file());
            if !is_file {
                let _ = std::fs::remove_file(&path);
                generate_into(&path, variant).await?;
            }
            Ok::<_, sqlx::Error>(path)
        })
        .await?;
    Ok(path.as_path())
}

/// Writes `variant` to a temporary file beside `path`, then renames it.
async fn generate_into(path: &Path, variant: Variant) -> Result<(), sqlx::Error> {
    let dir = path.parent().expect("templates live in a folder");
    tokio::fs::create_dir_all(dir).await?;
    let partial = dir.join(format!(
        ".{}.{:x}.partial",
        variant.file_name(),
        rand::random::<u64>()
    ));
    let options = SqliteConnectOptions::new()
        .filename(&partial)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .synchronous(SqliteSynchronous::Off);
    // A one-connection pool: `&Pool` is an executor for any lifetime, which
    // keeps this future `Send` for the handlers that await it.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let script = Shop::generate(variant).to_sql();
    sqlx::raw_sql(&script).execute(&pool).await?;
    pool.close().await;
    // Another process may have won the race; either file is the same.
    tokio::fs::rename(&partial, path).await?;
    Ok(())
}

/// SplitMix64: tiny, fast and the same on every machine. Labs that make
/// repeatable changes to a shop (the API lab's writer) use it too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Skewed towards the start of `0..n`: a few popular items, a long tail.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u) * n as f64) as usize
    }
}

const FIRST_NAMES: [&str; 40] = [
    "Ada", "Alan", "Amara", "Anil", "Bea", "Bruno", "Carla", "Chen", "Dara", "Dmitri", "Elif",
    "Emeka", "Farah", "Felix", "Grace", "Hana", "Ines", "Ivan", "Jonas", "Kaito", "Lara", "Leon",
    "Maya", "Mateo", "Nadia", "Noor", "Olga", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Sofia",
    "Tariq", "Uma", "Vera", "Wei", "Yara", "Yusuf", "Zoe",
];
const LAST_NAMES: [&str; 30] = [
    "Adeyemi", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes", "Ito",
    "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quint", "Rossi",
    "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Novak", "Haddad", "Kim",
    "Murphy",
];
const PLACES: [(&str, &str); 16] = [
    ("Lisbon", "PT"),
    ("Porto", "PT"),
    ("Madrid", "ES"),
    ("Valencia", "ES"),
    ("Lyon", "FR"),
    ("Paris", "FR"),
    ("Berlin", "DE"),
    ("Hamburg", "DE"),
    ("Milan", "IT"),
    ("Turin", "IT"),
    ("Dublin", "IE"),
    ("Cork", "IE"),
    ("Warsaw", "PL"),
    ("Krakow", "PL"),
    ("Leeds", "GB"),
    ("Bristol", "GB"),
];
const SELLER_WORDS: [&str; 12] = [
    "Northwind",
    "Bluebird",
    "Copper",
    "Harbour",
    "Juniper",
    "Lantern",
    "Maple",
    "Orchard",
    "Pebble",
    "Quarry",
    "Saffron",
    "Willow",
];
const SELLER_KINDS: [&str; 5] = ["Goods", "Supply", "Trading", "Works", "& Co"];
/// (name, parent index) in id order; parents come first.
const CATEGORIES: [(&str, Option<usize>); 12] = [
    ("Books", None),
    ("Electronics", None),
    ("Home", None),
    ("Outdoors", None),
    ("Fiction", Some(0)),
    ("Non-fiction", Some(0)),
    ("Phones", Some(1)),
    ("Audio", Some(1)),
    ("Kitchen", Some(2)),
    ("Furniture", Some(2)),
    ("Camping", Some(3)),
    ("Cycling", Some(3)),
];
/// Product nouns for each leaf category (indexes 4..12 of [`CATEGORIES`]).
const NOUNS: [[&str; 4]; 8] = [
    ["Novel", "Thriller", "Saga", "Mystery"],
    ["Atlas", "Cookbook", "Guide", "Biography"],
    ["Phone", "Phone Case", "Charger", "Screen Guard"],
    ["Headphones", "Speaker", "Earbuds", "Turntable"],
    ["Kettle", "Pan", "Knife Set", "Teapot"],
    ["Chair", "Desk", "Shelf", "Lamp"],
    ["Tent", "Sleeping Bag", "Stove", "Lantern"],
    ["Helmet", "Bike Light", "Pump", "Saddle"],
];
const ADJECTIVES: [&str; 10] = [
    "Classic", "Compact", "Deluxe", "Everyday", "Field", "Lite", "Nordic", "Pro", "Urban",
    "Vintage",
];
const REVIEW_BODIES: [&str; 6] = [
    "Does what it says.",
    "Arrived quickly, well packed.",
    "Not as described.",
    "Great value for the price.",
    "Broke after a week.",
    "Would buy again.",
];
const STATUSES: [(&str, u64); 4] = [
    ("delivered", 70),
    ("shipped", 10),
    ("placed", 8),
    ("cancelled", 12),
];

/// A generated shop, as rows ready to insert.
struct Shop {
    statements: Vec<String>,
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn day(offset: i64) -> Date {
    Date::from_calendar_date(2022, Month::January, 1).expect("a valid date") + Days::days(offset)
}

fn timestamp(offset_days: i64, seconds: i64) -> String {
    format!(
        "{} {:02}:{:02}:{:02}",
        day(offset_days),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The last day of the dataset, in days after 2022-01-01 (2025-09-30).
const LAST_DAY: i64 = 1368;

impl Shop {
    fn generate(variant: Variant) -> Self {
        let sizes = variant.sizes();
        let mut rng = Rng(variant.seed());
        let mut shop = Self {
            statements: vec![SCHEMA.to_string(), "BEGIN;".into()],
        };
        shop.categories(variant);
        shop.sellers(&mut rng, sizes.sellers);
        let signed_up = shop.customers(&mut rng, variant, sizes.customers);
        let prices = shop.products(&mut rng, variant, sizes);
        shop.orders(&mut rng, variant, &signed_up, &prices, sizes);
        shop.statements.push(
            "INSERT INTO accounts (id, owner, balance) VALUES (1, 'Ada', 300), (2, 'Grace', 0);"
                .into(),
        );
        shop.statements.push("COMMIT;".into());
        shop
    }

    fn to_sql(&self) -> String {
        self.statements.join("\n")
    }

    /// Adds `rows` to `table` as multi-row inserts.
    fn insert(&mut self, table: &str, columns: &str, rows: Vec<String>) {
        for chunk in rows.chunks(500) {
            self.statements.push(format!(
                "INSERT INTO {table} ({columns}) VALUES {};",
                chunk.join(",")
            ));
        }
    }

    fn categories(&mut self, variant: Variant) {
        let mut rows: Vec<String> = CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, (name, parent))| {
                let parent = parent.map_or("NULL".into(), |p| (p + 1).to_string());
                format!("({}, {}, {parent})", i + 1, quote(name))
            })
            .collect();
        if variant == Variant::Hidden {
            // A category nobody stocks: inner joins lose it, left joins keep it.
            rows.push("(13, 'Gardening', 3)".into());
        }
        self.insert("categories", "id, name, parent_id", rows);
    }

    fn sellers(&mut self, rng: &mut Rng, count: usize) {
        let rows = (1..=count)
            .map(|id| {
                let name = format!("{} {}", rng.pick(&SELLER_WORDS), rng.pick(&SELLER_KINDS));
                let (_, country) = rng.pick(&PLACES);
                let joined = day(rng.between(0, 700));
                format!("({id}, {}, '{country}', '{joined}')", quote(&name))
            })
            .collect();
        self.insert("sellers", "id, name, country, joined_on", rows);
    }

    /// Returns each customer's sign-up day (index 0 is customer 1).
    fn customers(&mut self, rng: &mut Rng, variant: Variant, count: usize) -> Vec<i64> {
        let mut signed_up = Vec::with_capacity(count);
        let mut rows = Vec::with_capacity(count);
        for id in 1..=count {
            let first = rng.pick(&FIRST_NAMES);
            let last = rng.pick(&LAST_NAMES);
            let (city, country) = *rng.pick(&PLACES);
            let city = if rng.chance(4) {
                "NULL".into()
            } else {
                quote(city)
            };
            let joined = rng.between(0, LAST_DAY - 60);
            signed_up.push(joined);
            let referred_by =
                if id > 10 && rng.chance(if variant == Variant::Hidden { 30 } else { 20 }) {
                    rng.between(1, id as i64 - 1).to_string()
                } else {
                    "NULL".into()
                };
            let email = format!(
                "{}.{}{id}@example.com",
                first.to_lowercase(),
                last.to_lowercase()
            );
            rows.push(format!(
                "({id}, {}, {}, {city}, '{country}', '{}', {referred_by})",
                quote(&format!("{first} {last}")),
                quote(&email),
                day(joined)
            ));
        }
        self.insert(
            "customers",
            "id, name, email, city, country, signed_up_on, referred_by",
            rows,
        );
        signed_up
    }

    /// Returns each product's price (index 0 is product 1).
    fn products(&mut self, rng: &mut Rng, variant: Variant, sizes: Sizes) -> Vec<i64> {
        let mut prices = Vec::with_capacity(sizes.products);
        let mut rows = Vec::with_capacity(sizes.products);
        for id in 1..=sizes.products {
            let leaf = rng.below(NOUNS.len());
            let category = leaf + 5;
            let name = format!(
                "{} {} {}",
                rng.pick(&ADJECTIVES),
                rng.pick(&NOUNS[leaf]),
                rng.between(100, 999)
            );
            // Log-uniform from about 3 to 500, ending in 99 cents.
            let exponent = rng.between(0, 1000) as f64 / 1000.0;
            let mut price = (300.0 * (50_000.0f64 / 300.0).powf(exponent)) as i64 / 100 * 100 + 99;
            if variant == Variant::Hidden && id % 50 == 0 {
                // Ties at the top of a category, for top-N-per-group answers.
                price = 59_999;
            }
            prices.push(price);
            let seller = rng.between(1, sizes.sellers as i64);
            let stock = rng.between(0, 250);
            rows.push(format!(
                "({id}, {seller}, {category}, {}, {price}, {stock})",
                quote(&name)
            ));
        }
        self.insert(
            "products",
            "id, seller_id, category_id, name, price_cents, stock",
            rows,
        );
        prices
    }

    fn orders(
        &mut self,
        rng: &mut Rng,
        variant: Variant,
        signed_up: &[i64],
        prices: &[i64],
        sizes: Sizes,
    ) {
        // Some customers never order and some products never sell.
        let never_orders = if variant == Variant::Hidden { 25 } else { 10 };
        let buyers: Vec<usize> = (0..signed_up.len())
            .filter(|_| !rng.chance(never_orders))
            .collect();
        let sellable: Vec<usize> = (0..prices.len()).filter(|_| !rng.chance(6)).collect();
        let mut orders = Vec::with_capacity(sizes.orders);
        let mut items = Vec::with_capacity(sizes.orders * 3);
        let mut delivered = Vec::new();
        for id in 1..=sizes.orders {
            let customer = buyers[rng.skewed(buyers.len())];
            let placed = rng.between(signed_up[customer], LAST_DAY);
            let roll = rng.below(100) as u64;
            let mut cumulative = 0;
            let status = STATUSES
                .iter()
                .find(|(_, share)| {
                    cumulative += share;
                    roll < cumulative
                })
                .map_or("delivered", |(s, _)| s);
            orders.push(format!(
                "({id}, {}, '{}', '{status}')",
                customer + 1,
                timestamp(placed, rng.between(0, 86_399))
            ));
            let mut chosen: Vec<usize> = Vec::new();
            for _ in 0..rng.between(1, 5) {
                let product = sellable[rng.skewed(sellable.len())];
                if chosen.contains(&product) {
                    continue;
                }
                chosen.push(product);
                let quantity = if rng.chance(75) { 1 } else { rng.between(2, 4) };
                let discounted = rng.chance(10);
                let unit = if discounted {
                    prices[product] * 9 / 10
                } else {
                    prices[product]
                };
                items.push(format!("({id}, {}, {quantity}, {unit})", product + 1));
                if status == "delivered" {
                    delivered.push((customer + 1, product + 1, placed));
                }
            }
        }
        self.insert("orders", "id, customer_id, placed_at, status", orders);
        self.insert(
            "order_items",
            "order_id, product_id, quantity, unit_price_cents",
            items,
        );
        let reviews = (1..=sizes.reviews.min(delivered.len()))
            .map(|id| {
                let (customer, product, placed) = delivered[rng.below(delivered.len())];
                let rating = *rng.pick(&[1, 2, 3, 4, 4, 5, 5, 5]);
                let body = if rng.chance(30) {
                    "NULL".into()
                } else {
                    quote(rng.pick::<&str>(&REVIEW_BODIES))
                };
                let written = timestamp(
                    (placed + rng.between(2, 30)).min(LAST_DAY),
                    rng.between(0, 86_399),
                );
                format!("({id}, {product}, {customer}, {rating}, {body}, '{written}')")
            })
            .collect();
        self.insert(
            "reviews",
            "id, product_id, customer_id, rating, body, created_at",
            reviews,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labs::sql::engine::{Access, Db, Limits};

    fn count(db: &mut Db, sql: &str) -> i64 {
        let limits = Limits {
            time: std::time::Duration::from_secs(10),
            max_rows: 1,
        };
        db.run(sql, limits).unwrap().rows[0][0].as_i64().unwrap()
    }

    #[tokio::test]
    async fn both_variants_hold_the_edge_cases_grading_relies_on() {
        for variant in [Variant::Course, Variant::Hidden] {
            let mut db = Db::open(template(variant).await.unwrap(), Access::ReadOnly, 0).unwrap();
            let sizes = variant.sizes();
            assert_eq!(
                count(&mut db, "SELECT count(*) FROM customers"),
                sizes.customers as i64
            );
            assert_eq!(
                count(&mut db, "SELECT count(*) FROM orders"),
                sizes.orders as i64
            );
            let items = count(&mut db, "SELECT count(*) FROM order_items");
            assert!(
                items > sizes.orders as i64 * 2,
                "{variant:?}: {items} items"
            );
            let never_ordered = count(
                &mut db,
                "SELECT count(*) FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)",
            );
            assert!(
                never_ordered > 50,
                "{variant:?}: {never_ordered} customers never ordered"
            );
            let never_sold = count(&mut db, "SELECT count(*) FROM products WHERE id NOT IN (SELECT product_id FROM order_items)");
            assert!(
                never_sold > 10,
                "{variant:?}: {never_sold} products never sold"
            );
            assert!(count(&mut db, "SELECT count(*) FROM customers WHERE city IS NULL") > 0);
            assert!(
                count(
                    &mut db,
                    "SELECT count(*) FROM customers WHERE referred_by IS NOT NULL"
                ) > 100
            );
        }
        let mut hidden = Db::open(
            template(Variant::Hidden).await.unwrap(),
            Access::ReadOnly,
            0,
        )
        .unwrap();
        assert_eq!(count(&mut hidden, "SELECT count(*) FROM categories WHERE id NOT IN (SELECT category_id FROM products)"), 5);
    }

    #[test]
    fn generation_is_deterministic_and_the_variants_differ() {
        let course = Shop::generate(Variant::Course).to_sql();
        assert_eq!(course, Shop::generate(Variant::Course).to_sql());
        assert_ne!(course, Shop::generate(Variant::Hidden).to_sql());
    }
}
