//! The regions and ICBs every request's access check looks up, kept in memory.
//!
//! There are a few dozen organisations and they change a few times a year, while every page
//! of tenant data asks "which ICB is `QE1`, in which region?". Answering from memory saves a
//! database round trip on every such request. The copy cannot wrongly admit anyone: an
//! organisation's id and region never change once recorded (mergers add organisations and
//! successions, they do not move ICBs), a code the copy does not know makes it reload before
//! answering "not found", administrators' changes reload it at once, and it reloads anyway
//! once it is a minute old (for names, and closing dates recorded on another instance).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::PgPool;

/// How long a copy is trusted for names.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// An ICB as the access check needs it.
#[derive(Debug, Clone)]
pub struct IcbEntry {
    pub icb_id: i32,
    pub ods_code: String,
    pub name: String,
    pub region_id: i16,
    pub valid_from: chrono::NaiveDate,
    pub valid_to: Option<chrono::NaiveDate>,
}

/// A region as the access check needs it.
#[derive(Debug, Clone)]
pub struct RegionEntry {
    pub region_id: i16,
    pub ods_code: String,
    pub name: String,
}

#[derive(Default)]
struct Snapshot {
    loaded_at: Option<Instant>,
    icbs: HashMap<String, IcbEntry>,
    regions: HashMap<String, RegionEntry>,
}

/// The in-memory directory of organisations, by ODS code.
#[derive(Default, Clone)]
pub struct Directory {
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
}

impl Directory {
    /// The ICB with `code` (upper case), if there is one.
    pub async fn icb(&self, pool: &PgPool, code: &str) -> sqlx::Result<Option<IcbEntry>> {
        self.find(pool, |s| s.icbs.get(code).cloned()).await
    }

    /// The region with `code` (upper case), if there is one.
    pub async fn region(&self, pool: &PgPool, code: &str) -> sqlx::Result<Option<RegionEntry>> {
        self.find(pool, |s| s.regions.get(code).cloned()).await
    }

    /// Forgets the copy: the next look-up reads the database (after an administrator's change).
    pub fn invalidate(&self) {
        if let Ok(mut snapshot) = self.snapshot.write() {
            *snapshot = Arc::default();
        }
    }

    async fn find<T>(
        &self,
        pool: &PgPool,
        get: impl Fn(&Snapshot) -> Option<T>,
    ) -> sqlx::Result<Option<T>> {
        let current = self.current();
        let fresh = current.loaded_at.is_some_and(|at| at.elapsed() < FRESH_FOR);
        if fresh && let Some(found) = get(&current) {
            return Ok(Some(found));
        }
        let reloaded = self.reload(pool).await?;
        Ok(get(&reloaded))
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .map(|s| Arc::clone(&s))
            .unwrap_or_default()
    }

    async fn reload(&self, pool: &PgPool) -> sqlx::Result<Arc<Snapshot>> {
        let icbs = sqlx::query_as!(
            IcbEntry,
            "select icb_id, ods_code, name, region_id, valid_from, valid_to from icb"
        )
        .fetch_all(pool)
        .await?;
        let regions = sqlx::query_as!(RegionEntry, "select region_id, ods_code, name from region")
            .fetch_all(pool)
            .await?;
        let snapshot = Arc::new(Snapshot {
            loaded_at: Some(Instant::now()),
            icbs: icbs.into_iter().map(|i| (i.ods_code.clone(), i)).collect(),
            regions: regions
                .into_iter()
                .map(|r| (r.ods_code.clone(), r))
                .collect(),
        });
        if let Ok(mut current) = self.snapshot.write() {
            *current = Arc::clone(&snapshot);
        }
        Ok(snapshot)
    }
}
