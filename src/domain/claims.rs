//! The claims of a signed QR payload (SPEC §3). Names are fixed so that any
//! JOSE library can read them; every byte costs QR modules, so optional
//! claims are left out when empty.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::CertKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub iat: i64,
    pub cert: CertKind,
    pub no: String,
    pub rev: i64,
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub si: Option<u64>,
}

impl Claims {
    /// Claims of one QC revision.
    pub fn qualification(
        iss: &str,
        signed_at: NaiveDateTime,
        number: &str,
        revision: i32,
        holder_uscc: &str,
        valid_until: Option<NaiveDate>,
    ) -> Claims {
        Claims {
            iss: iss.to_string(),
            iat: signed_at.and_utc().timestamp(),
            cert: CertKind::Qc,
            no: number.to_string(),
            rev: i64::from(revision),
            sub: holder_uscc.to_string(),
            exp: valid_until.map(end_of_china_day),
            vin: None,
            plate: None,
            si: None,
        }
    }

    /// Claims of an RC.
    pub fn recycling(
        iss: &str,
        signed_at: NaiveDateTime,
        number: &str,
        revision: i32,
        issuer_uscc: &str,
        vin: &str,
        plate: &str,
    ) -> Claims {
        Claims {
            iss: iss.to_string(),
            iat: signed_at.and_utc().timestamp(),
            cert: CertKind::Rc,
            no: number.to_string(),
            rev: i64::from(revision),
            sub: issuer_uscc.to_string(),
            exp: None,
            vin: Some(vin.to_string()),
            plate: Some(plate.to_string()),
            si: None,
        }
    }

    /// Parses and checks the claims of a verified payload: every claim the
    /// kind needs is present and `cert` is known.
    pub fn parse(payload: &[u8]) -> Result<Claims, String> {
        let claims: Claims =
            serde_json::from_slice(payload).map_err(|e| format!("claims are not valid: {e}"))?;
        match claims.cert {
            CertKind::Qc => {}
            CertKind::Rc if claims.vin.is_some() && claims.plate.is_some() => {}
            CertKind::Rc => return Err("an RC payload needs vin and plate".into()),
        }
        if claims.no.is_empty() || claims.sub.is_empty() || claims.rev < 1 {
            return Err("no, sub and rev are required".into());
        }
        Ok(claims)
    }

    /// The claims with status-list index `si` (SPEC §13).
    pub fn with_status_index(self, si: u64) -> Claims {
        Claims {
            si: Some(si),
            ..self
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn issued_at(&self) -> Option<NaiveDateTime> {
        chrono::DateTime::from_timestamp(self.iat, 0).map(|t| t.naive_utc())
    }
}

/// The last second of date `d` in China Standard Time, as a NumericDate.
pub fn end_of_china_day(d: NaiveDate) -> i64 {
    let next = d.succ_opt().unwrap_or(d);
    crate::clock::china_day_start(next).and_utc().timestamp() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_claims_are_compact_and_round_trip() {
        let t = NaiveDate::from_ymd_opt(2024, 3, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let c = Claims::recycling(
            "430900",
            t,
            "4309032024000123",
            1,
            "91430903MA4L000004",
            "LSJA24U62JG269225",
            "湘H12345",
        );
        let json = String::from_utf8(c.to_json()).unwrap();
        assert_eq!(
            json,
            r#"{"iss":"430900","iat":1709251200,"cert":"RC","no":"4309032024000123","rev":1,"sub":"91430903MA4L000004","vin":"LSJA24U62JG269225","plate":"湘H12345"}"#
        );
        assert_eq!(Claims::parse(json.as_bytes()).unwrap(), c);
    }

    #[test]
    fn qc_exp_is_the_end_of_the_day_in_china() {
        let t = NaiveDate::from_ymd_opt(2024, 1, 15)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let c = Claims::qualification(
            "local",
            t,
            "Q",
            2,
            "X",
            NaiveDate::from_ymd_opt(2027, 1, 14),
        );
        // 2027-01-14 23:59:59 +08:00
        assert_eq!(c.exp, Some(1_799_942_399));
    }

    #[test]
    fn incomplete_claims_are_refused() {
        assert!(
            Claims::parse(br#"{"iss":"x","iat":1,"cert":"RC","no":"1","rev":1,"sub":"S"}"#)
                .is_err()
        );
        assert!(
            Claims::parse(br#"{"iss":"x","iat":1,"cert":"XX","no":"1","rev":1,"sub":"S"}"#)
                .is_err()
        );
        assert!(Claims::parse(br#"{"iss":"x","cert":"QC","no":"1","rev":1,"sub":"S"}"#).is_err());
        assert!(
            Claims::parse(br#"{"iss":"x","iat":1,"cert":"QC","no":"1","rev":0,"sub":"S"}"#)
                .is_err()
        );
        assert!(Claims::parse(br#"[]"#).is_err());
        assert!(
            Claims::parse(
                br#"{"iss":"x","iat":1,"cert":"QC","no":"1","rev":1,"sub":"S","extra":true}"#
            )
            .is_ok()
        );
    }
}
