//! Tenant data planted straight into the database (as the owner, past row-level security), for
//! tests about reading and summing it: roll-ups, exports, imports. Tests about *making* plans
//! go through the pages instead (tests/app/plans.rs).

use sqlx::PgPool;

/// A workstream to plant: a national opportunity (by number) or a local priority (by title).
#[derive(Debug, Clone)]
pub struct Ws {
    pub opportunity: Option<i16>,
    pub title: Option<String>,
    pub annual_target: i64,
    pub rag: Option<&'static str>,
    /// Planned pence per month, April first.
    pub planned: Vec<i64>,
    /// Actual pence per month, April first (`None`: not reported).
    pub actual: Vec<Option<i64>>,
    pub removed: bool,
    pub cost_pressure: bool,
}

impl Ws {
    /// National opportunity `number` with an annual target of `pounds`, phased evenly in whole
    /// pounds (the remainder in March), no actuals.
    pub fn national(number: i16, pounds: i64) -> Self {
        Self {
            opportunity: Some(number),
            title: None,
            annual_target: pounds * 100,
            rag: None,
            planned: even_pounds(pounds),
            actual: Vec::new(),
            removed: false,
            cost_pressure: false,
        }
    }

    /// A local priority.
    pub fn local(title: &str, pounds: i64) -> Self {
        Self {
            opportunity: None,
            title: Some(title.to_owned()),
            ..Self::national(0, pounds)
        }
    }

    /// Actuals in whole pounds from April.
    pub fn actuals(mut self, pounds: &[Option<i64>]) -> Self {
        self.actual = pounds.iter().map(|p| p.map(|p| p * 100)).collect();
        self
    }

    pub fn rag(mut self, rag: &'static str) -> Self {
        self.rag = Some(rag);
        self
    }

    pub fn removed(mut self) -> Self {
        self.removed = true;
        self
    }

    /// Planned pence per month from April (their sum becomes the annual target).
    pub fn phased(mut self, pence: &[i64]) -> Self {
        self.planned = (0..12)
            .map(|i| pence.get(i).copied().unwrap_or(0))
            .collect();
        self.annual_target = self.planned.iter().sum();
        self
    }

    /// Actuals in pence from April.
    pub fn actual_pence(mut self, pence: &[Option<i64>]) -> Self {
        self.actual = pence.to_vec();
        self
    }

    pub fn cost_pressure(mut self) -> Self {
        self.cost_pressure = true;
        self
    }
}

/// Twelve months of whole pounds summing to `pounds`, the remainder in March.
fn even_pounds(pounds: i64) -> Vec<i64> {
    let month = pounds / 12;
    let mut months = vec![month * 100; 12];
    months[11] += (pounds - month * 12) * 100;
    months
}

/// Plants a plan for `icb` in the programme year starting in April `year`, with `status`,
/// and its workstreams with their months, in one transaction (the database checks at commit
/// that each workstream's phasing adds up to its target). Returns the plan id and the
/// workstream ids.
pub async fn plan(
    pool: &PgPool,
    icb: &str,
    year: i32,
    status: &str,
    workstreams: &[Ws],
) -> (i32, Vec<i32>) {
    let mut tx = pool.begin().await.unwrap();
    let planted = plan_in(&mut tx, icb, year, status, workstreams).await;
    tx.commit()
        .await
        .unwrap_or_else(|e| panic!("plan for {icb} {year}: {e}"));
    planted
}

async fn plan_in(
    conn: &mut sqlx::PgConnection,
    icb: &str,
    year: i32,
    status: &str,
    workstreams: &[Ws],
) -> (i32, Vec<i32>) {
    let plan_id: i32 = sqlx::query_scalar(
        "insert into plan (icb_id, programme_year_id, status, submitted_at)
         select i.icb_id, y.programme_year_id, $3::plan_status,
                case when $3 in ('submitted', 'agreed', 'returned') then now() - interval '3 days' end
         from icb i, programme_year y
         where i.ods_code = $1 and y.starts_on = make_date($2, 4, 1)
         returning plan_id",
    )
    .bind(icb)
    .bind(year)
    .bind(status)
    .fetch_one(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("plan for {icb} {year}: {e}"));
    let mut ids = Vec::new();
    for ws in workstreams {
        let id: i32 = sqlx::query_scalar(
            "insert into workstream (icb_id, plan_id, opportunity_id, title, annual_target_pence, rag, removed_at, cost_pressure)
             select p.icb_id, p.plan_id,
                    (select o.opportunity_id from opportunity o
                     where o.programme_year_id = p.programme_year_id and o.number = $2),
                    $3, $4, $5::rag_status, case when $6 then now() end, $7
             from plan p where p.plan_id = $1
             returning workstream_id",
        )
        .bind(plan_id)
        .bind(ws.opportunity)
        .bind(&ws.title)
        .bind(ws.annual_target)
        .bind(ws.rag)
        .bind(ws.removed)
        .bind(ws.cost_pressure)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let actual: Vec<Option<i64>> = (0..12)
            .map(|i| ws.actual.get(i).copied().flatten())
            .collect();
        sqlx::query(
            "insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
             select w.workstream_id, w.icb_id, (make_date($2, 4, 1) + make_interval(months => (i - 1)::integer))::date,
                    planned, actual
             from workstream w, unnest($3::bigint[], $4::bigint[]) with ordinality as t(planned, actual, i)
             where w.workstream_id = $1",
        )
        .bind(id)
        .bind(year)
        .bind(&ws.planned)
        .bind(&actual)
        .execute(&mut *conn)
        .await
        .unwrap();
        ids.push(id);
    }
    (plan_id, ids)
}

/// Adds an outcome measure to a workstream, with values by month (`(month, value)`).
pub async fn measure(pool: &PgPool, workstream_id: i32, name: &str, values: &[(&str, f64)]) -> i32 {
    let measure_id: i32 = sqlx::query_scalar(
        "insert into measure (workstream_id, icb_id, name, unit, direction)
         select workstream_id, icb_id, $2, '%', 'higher_is_better' from workstream where workstream_id = $1
         returning measure_id",
    )
    .bind(workstream_id)
    .bind(name)
    .fetch_one(pool)
    .await
    .unwrap();
    for (month, value) in values {
        sqlx::query(
            "insert into measure_value (measure_id, icb_id, month, value)
             select measure_id, icb_id, $2::date, $3 from measure where measure_id = $1",
        )
        .bind(measure_id)
        .bind(month)
        .bind(value)
        .execute(pool)
        .await
        .unwrap();
    }
    measure_id
}

/// Every tenant row, for checking that a refused request changed nothing.
pub async fn snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select format('%s', p) from plan p
         union all select format('%s', w) from workstream w
         union all select format('%s', m) from workstream_month m
         union all select format('%s', u) from workstream_update u
         union all select format('%s', m) from measure m
         union all select format('%s', v) from measure_value v
         union all select format('%s', f) from workstream_forecast f
         union all select format('%s', r) from workstream_risk r
         order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}
