use dialtone_core::config::Config;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let pool = super::pool(config).await?;
    dialtone_core::db::migrate(&pool).await?;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await?;
    println!("schema is up to date ({applied} migrations applied)");
    Ok(())
}
