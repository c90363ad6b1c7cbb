//! A fresh schema of a PostgreSQL database for one test or benchmark (issue 12), made
//! and dropped with `psql` (the password from `PGPASSWORD`, never on a command line).

use anyhow::{ensure, Context, Result};
use std::path::PathBuf;

/// A schema of the database `admin`, made by [`Schema::create`] (an old one of that name
/// first dropped) and dropped when this is dropped.
pub struct Schema {
    admin: String,
    pub name: String,
}

/// Runs one SQL text on `url` with psql.
fn psql(url: &str, sql: &str) -> Result<()> {
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .stdin(std::process::Stdio::null())
        .output()
        .context("cannot run psql (the PostgreSQL client; scripts/install-deps.sh)")?;
    ensure!(
        out.status.success(),
        "psql {sql:?}: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

impl Schema {
    pub fn create(admin: &str, name: String) -> Result<Schema> {
        psql(
            admin,
            &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"),
        )?;
        Ok(Schema {
            admin: admin.to_string(),
            name,
        })
    }

    /// What `--sm-db` is for a store in this schema.
    pub fn location(&self) -> PathBuf {
        let sep = if self.admin.contains('?') { '&' } else { '?' };
        PathBuf::from(format!(
            "{}{sep}options=-csearch_path%3D{}",
            self.admin, self.name
        ))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Err(e) = psql(
            &self.admin,
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        ) {
            eprintln!("dropping schema {}: {e}", self.name);
        }
    }
}
