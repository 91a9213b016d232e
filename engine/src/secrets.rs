//! Secrets every server of one deployment must share (several servers
//! behind a load balancer must agree on them), kept in the platform
//! database: the first server to ask makes one, and every server then reads
//! that one.

use crate::db::Pool;

/// The secret called `name`, as 64 hex digits (32 random bytes), made and
/// stored on first use. Two servers asking at once both read the one that
/// was stored first.
pub async fn shared_secret(pool: &Pool, name: &str) -> Result<String, sqlx::Error> {
    let fresh: String = rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sqlx::query(
        "INSERT INTO platform_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&fresh)
    .execute(pool)
    .await?;
    sqlx::query_scalar("SELECT value FROM platform_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
}

/// The name that keeps this deployment's keys apart in a Redis it may
/// share with others (16 hex digits).
pub async fn deployment_name(pool: &Pool) -> Result<String, sqlx::Error> {
    let secret = shared_secret(pool, "deployment").await?;
    Ok(secret[..16].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_is_made_once_and_then_read() {
        let pool = crate::db::connect("sqlite::memory:").await.unwrap();
        let first = shared_secret(&pool, "demo-jwt").await.unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(shared_secret(&pool, "demo-jwt").await.unwrap(), first);
        assert_ne!(shared_secret(&pool, "other").await.unwrap(), first);
        assert_eq!(deployment_name(&pool).await.unwrap().len(), 16);
    }
}
