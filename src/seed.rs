//! `scrapcert bench-seed`: fills a registry for `scripts/bench` through the
//! service layer itself — every RC validated, signed and evented exactly as
//! through the API — without HTTP in between. Hidden: a tool, not a feature.

use chrono::NaiveDate;

use crate::clock;
use crate::config::Settings;
use crate::crypto::disk;
use crate::domain::{Principal, Role, Uscc, Vin};
use crate::service::enterprises::{self, NewEnterprise};
use crate::service::qualifications::{self, NewQualification};
use crate::service::recycling::{self, NewRc, Owner, Vehicle};
use crate::service::signing::SigningContext;
use crate::store::{self, DatabaseTarget};

/// Plant codes (VIN position 11) that extend the 6-digit serial numbers to
/// ten million VINs.
const PLANTS: &[u8; 10] = b"GHJKLMNPRS";

/// RCs registered per transaction: many RCs to a commit, each still
/// registered as through the API (a savepoint of its own).
const PER_TRANSACTION: u64 = 1_000;

/// A VIN from a serial number, with its check digit.
fn vin(n: u64) -> anyhow::Result<String> {
    let plant = PLANTS[usize::try_from(n / 1_000_000).unwrap_or(0) % PLANTS.len()] as char;
    let draft = format!("LSJA24U60J{plant}{:06}", n % 1_000_000);
    let parsed = Vin::parse(&draft, true).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut chars: Vec<char> = draft.chars().collect();
    chars[8] = parsed.expected_check_digit();
    Ok(chars.into_iter().collect())
}

/// Registers one enterprise, its QC and `rcs` RCs, then `scans` police scans
/// of the first RC (unpositioned, within the last day); prints the QR URLs of
/// the first and the last RC.
pub fn seed(settings: &Settings, rcs: u64, scans: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        (2..=10_000_000).contains(&rcs),
        "2 to 10,000,000 RCs a run (VINs are serial numbers)"
    );
    let target = DatabaseTarget::parse(&settings.database_url)?;
    let mut conn = store::connect(&target)?;
    store::run_migrations(&mut conn)?;
    let ring = std::sync::Arc::new(disk::open_or_create(&settings.keys_dir)?);
    let signing = SigningContext {
        ring,
        issuer: settings.issuer.clone(),
        public_url: settings.public_base_url(&settings.bind),
    };
    let uscc = "91430903MA4L000004".to_string();
    Uscc::parse(&uscc, false).map_err(|e| anyhow::anyhow!("{e}"))?;
    let operator = Principal::operator();
    let now = clock::now();
    enterprises::create(
        &mut conn,
        &operator,
        NewEnterprise {
            uscc: uscc.clone(),
            name: "益阳测试报废汽车回收拆解有限公司".into(),
            legal_representative: "张三".into(),
            address: "益阳市赫山区龙岭工业园".into(),
            dismantling_sites: vec!["益阳市赫山区龙岭工业园1号".into()],
            uscc_override_reason: None,
            division: "430903".into(),
        },
        now,
    )?;
    qualifications::create(
        &mut conn,
        &operator,
        NewQualification {
            number: "湘报废资字BENCH001".into(),
            enterprise_uscc: uscc.clone(),
            issuing_authority: "湖南省商务厅".into(),
            issued_on: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
            valid_until: None,
        },
        &signing,
        now,
    )?;
    let enterprise = Principal {
        role: Role::Enterprise,
        token_id: None,
        enterprise: Some(uscc.clone()),
        ..Principal::public()
    };
    let received_on = clock::china_date(now) - chrono::Duration::days(1);
    let started = std::time::Instant::now();
    let mut first_qr = None;
    let mut last_qr = String::new();
    let mut register_one = |conn: &mut store::DbConnection, i: u64| -> anyhow::Result<()> {
        let number = format!("43090320{:08}", i);
        let new = NewRc {
            number: number.clone(),
            qualification_number: None,
            branch_id: None,
            vehicle: Vehicle {
                vin: vin(i)?,
                vin_override_reason: None,
                plate: format!("湘H{:05}", i % 100_000),
                plate_type: "small".into(),
                vehicle_type: "small_passenger".into(),
                commercial: false,
                brand_model: "大众牌SVW7183".into(),
                engine_number: format!("E{i:09}"),
                fuel_type: "gasoline".into(),
                battery_codes: Vec::new(),
                declared_battery: None,
                battery_present: true,
                frame_present: true,
                engine_present: true,
                encumbered: false,
                requires_supervision: false,
            },
            owner: Owner {
                name: "李四".into(),
                id_type: "resident_id".into(),
                id_number: "11010519491231002X".into(),
                id_override_reason: None,
            },
            received_on,
            dismantling: None,
        };
        let render = |_: &store::recycling::RcRecord, qr: &crate::qr::Qr| Ok(qr.url.clone());
        let answer = recycling::register(
            conn,
            &enterprise,
            &uscc,
            new,
            None,
            &signing,
            &render,
            clock::now(),
        )?;
        if first_qr.is_none() {
            first_qr = Some(answer.body.clone());
        }
        last_qr = answer.body;
        Ok(())
    };
    let mut i = 0;
    while i < rcs {
        let end = rcs.min(i + PER_TRANSACTION);
        store::write_tx(&mut conn, |conn| -> anyhow::Result<()> {
            for n in i..end {
                register_one(conn, n)?;
            }
            Ok(())
        })?;
        i = end;
    }
    let seed_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    seed_scans(
        &mut conn,
        "4309032000000000",
        scans,
        settings.recent_scans_kept(),
        now,
    )?;
    println!("qr={}", first_qr.unwrap_or_default());
    println!("qr_fresh={last_qr}");
    println!("rcs={rcs}");
    println!("seed_seconds={seed_seconds:.1}");
    println!("scans={scans}");
    println!("scan_seed_seconds={:.1}", started.elapsed().as_secs_f64());
    Ok(())
}

/// `n` police scans of one RC, written as the scan queue writes them.
fn seed_scans(
    conn: &mut store::DbConnection,
    number: &str,
    n: u64,
    keep: usize,
    now: chrono::NaiveDateTime,
) -> anyhow::Result<()> {
    const PER_BATCH: u64 = 10_000;
    let mut done = 0;
    while done < n {
        let batch: Vec<store::scans::ScanRecord> = (done..n.min(done + PER_BATCH))
            .map(|i| store::scans::ScanRecord {
                cert_kind: Some("RC".into()),
                cert_number: Some(number.into()),
                signature_ok: true,
                at: now
                    - chrono::Duration::milliseconds(i64::try_from(i).unwrap_or(0) % 86_000_000),
                role: "police".into(),
                token_id: None,
                purpose: "inspection".into(),
                checkpoint: None,
                lat: None,
                lon: None,
                verdict: "valid".into(),
                findings: None,
                presented_uscc: None,
            })
            .collect();
        store::scans::write_batch(conn, &batch, &[], keep)?;
        done += batch.len() as u64;
    }
    Ok(())
}

/// The raw write ceiling beside RC registration (SPEC §11): `rows`
/// single-row inserts of about an RC's size into a scratch table of the same
/// database, each in a transaction of its own with the service's durability
/// settings; prints the rate and drops the table.
pub fn raw_inserts(settings: &Settings, rows: u64) -> anyhow::Result<()> {
    let target = DatabaseTarget::parse(&settings.database_url)?;
    let mut conn = store::connect(&target)?;
    let seconds = store::sql::time_raw_inserts(&mut conn, rows)?.as_secs_f64();
    println!("raw_inserts={rows}");
    println!("raw_insert_seconds={seconds:.2}");
    println!("raw_inserts_per_second={:.0}", rows as f64 / seconds);
    Ok(())
}

/// The log's figures for `scripts/bench` (SPEC §12): at each tree size of
/// `at` (grown there with [`store::log::pad_log`]), the cost of one append
/// in a transaction of its own (COMMIT included) and within a batch, the
/// time of an inclusion proof from the stored hashes (the proof API) and
/// from the in-memory upper levels (a verdict's), and what loading those
/// levels costs at start. Needs the server stopped (it signs checkpoints).
pub fn log_figures(settings: &Settings, at: &[u64]) -> anyhow::Result<()> {
    use crate::service::log::{LogSigner, sign_pending};
    use crate::service::log_cache::TreeCache;
    const SAMPLE: u64 = 1_000;
    let target = DatabaseTarget::parse(&settings.database_url)?;
    let mut conn = store::connect(&target)?;
    store::run_migrations(&mut conn)?;
    let signer = LogSigner {
        key: disk::open_or_create_log_key(&settings.keys_dir, &settings.log_origin())?,
        origin: settings.log_origin(),
    };
    for &size in at {
        let grow = store::log::pad_log(&mut conn, size.saturating_sub(SAMPLE), 1_000)?;
        let start = store::log::size(&mut conn)?;
        let one_each = store::log::pad_log(&mut conn, start + SAMPLE / 2, 1)?;
        let batched = store::log::pad_log(&mut conn, start + SAMPLE, SAMPLE)?;
        let size = store::log::size(&mut conn)?;
        sign_pending(&mut conn, &signer, clock::now())?;
        // Leaves spread over the whole tree, the same on every run.
        let leaves: Vec<u64> = (0..SAMPLE).map(|i| (i * 7_919 * 104_729) % size).collect();
        let started = std::time::Instant::now();
        for &i in &leaves {
            store::log::inclusion_proof(&mut conn, i, size)?;
        }
        let stored_proof = started.elapsed().as_secs_f64() / SAMPLE as f64;
        let cache = TreeCache::new();
        let started = std::time::Instant::now();
        cache.refresh(&mut conn)?;
        let load = started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        for &i in &leaves {
            cache.prove(&mut conn, i)?;
        }
        let cached_proof = started.elapsed().as_secs_f64() / SAMPLE as f64;
        println!(
            "log_size={size} grow_seconds={grow:.1} append_commit_us={:.0} append_batched_us={:.1} \
             proof_stored_us={:.0} proof_cached_us={:.0} cache_load_ms={:.0} cache_kb={}",
            one_each * 1e6 / (SAMPLE / 2) as f64,
            batched * 1e6 / (SAMPLE / 2) as f64,
            stored_proof * 1e6,
            cached_proof * 1e6,
            load * 1e3,
            cache.hashes() * 32 / 1024,
        );
    }
    Ok(())
}

/// The status list's figures for the registry in `settings` (seeded first
/// with `bench-seed`): the time to read every RC's index and status and
/// to encode and sign the list, and the list's size for a realistic mix
/// of statuses over that many RCs (`scripts/bench`, docs/BENCHMARKS.md).
///
/// The mix, in registration order: of the oldest 97 %, 98 % deregistered,
/// 1 % voided and 1 % still awaiting deregistration; of the newest 3 %,
/// 40 % deregistered, the rest active. Which RC is which comes from a
/// fixed pseudo-random sequence, so every run encodes the same list.
pub fn status_list_figures(settings: &Settings) -> anyhow::Result<()> {
    use crate::domain::status_list::{Status, StatusBits};
    use crate::service::status_lists::read_bits;
    let target = DatabaseTarget::parse(&settings.database_url)?;
    let mut conn = store::connect(&target)?;
    let started = std::time::Instant::now();
    let read = read_bits(&mut conn, crate::domain::CertKind::Rc)?;
    let read_ms = started.elapsed().as_secs_f64() * 1e3;
    // What a rebuild after changes reads instead: the certificates of the
    // last 100 leaves.
    let marker = crate::store::status::changes_marker(&mut conn)?.unwrap_or(0);
    let started = std::time::Instant::now();
    let (_changes, _) = crate::service::status_lists::read_changes(
        &mut conn,
        crate::domain::CertKind::Rc,
        Some(marker - 100),
    )?;
    let update_ms = started.elapsed().as_secs_f64() * 1e3;
    let n = read.len();
    let mut mixed = StatusBits::with_len(n);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..n {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let roll = (z ^ (z >> 31)) % 100;
        let old = i * 100 < n * 97;
        let status = match (old, roll) {
            (true, 0..98) => Status::Consumed,
            (true, 98) => Status::Invalid,
            (true, _) => Status::Valid,
            (false, 0..40) => Status::Consumed,
            (false, _) => Status::Valid,
        };
        mixed.set(i, status);
    }
    let started = std::time::Instant::now();
    let lst = mixed.to_lst();
    let encode_ms = started.elapsed().as_secs_f64() * 1e3;
    let ring = disk::open_or_create(&settings.keys_dir)?;
    let claims = serde_json::json!({
        "sub": "https://verify.example.gov.cn/api/v1/status-lists/RC",
        "iat": 1_780_000_000, "exp": 1_780_086_400, "ttl": 3600,
        "status_list": {"bits": 2, "lst": lst},
    });
    let token = crate::crypto::jws::sign_typed(
        ring.signer(),
        crate::domain::status_list::TYP,
        claims.to_string().as_bytes(),
    );
    let as_stored = read.to_lst();
    println!("status_list_entries={n}");
    println!("status_list_read_ms={read_ms:.1}");
    println!("status_list_update_ms={update_ms:.2}");
    println!("status_list_encode_ms={encode_ms:.1}");
    println!("status_list_raw_bytes={}", n.div_ceil(4));
    println!("status_list_lst_chars={}", lst.len());
    println!("status_list_token_bytes={}", token.len());
    println!("status_list_as_seeded_lst_chars={}", as_stored.len());
    Ok(())
}
