//! `scrapcert backup --to FILE` (SPEC §16): an online copy of an SQLite
//! database, consistent as of one moment while the service keeps serving
//! (`VACUUM INTO` reads in one transaction), checked before it is called
//! done. PostgreSQL is backed up with `pg_dump` (docs/DEPLOYMENT.md).

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{DATA_FILE_MODE, DatabaseTarget};

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// Writes the backup to `to` (a new file, mode 0600); its size in bytes.
pub fn to_file(target: &DatabaseTarget, to: &Path) -> anyhow::Result<u64> {
    let DatabaseTarget::Sqlite(from) = target else {
        anyhow::bail!("the database is PostgreSQL: back it up with pg_dump (docs/DEPLOYMENT.md)");
    };
    anyhow::ensure!(
        from.is_file(),
        "no database at {}: nothing to back up",
        from.display()
    );
    // A new, empty file of the data's mode: VACUUM INTO fills it and keeps
    // the mode; an existing file is never overwritten.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(DATA_FILE_MODE)
        .open(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    let written = copy_into(from, to);
    if written.is_err() {
        let _ = std::fs::remove_file(to);
    }
    written
}

fn copy_into(from: &Path, to: &Path) -> anyhow::Result<u64> {
    let mut source = SqliteConnection::establish(&from.to_string_lossy())
        .with_context(|| format!("cannot open {}", from.display()))?;
    diesel::sql_query("PRAGMA busy_timeout = 5000")
        .execute(&mut source)
        .context("cannot configure the database connection")?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(to.to_string_lossy())
        .execute(&mut source)
        .with_context(|| format!("cannot write the backup to {}", to.display()))?;
    let mut copy = SqliteConnection::establish(&to.to_string_lossy())
        .with_context(|| format!("cannot open the backup {}", to.display()))?;
    let check: Check = diesel::sql_query("PRAGMA integrity_check")
        .get_result(&mut copy)
        .context("cannot check the backup")?;
    anyhow::ensure!(
        check.integrity_check == "ok",
        "the backup failed its integrity check: {}",
        check.integrity_check
    );
    Ok(std::fs::metadata(to)?.len())
}
