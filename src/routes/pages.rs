//! Server-rendered zh-CN pages: plain HTML and CSS, no scripts, no external
//! assets. Every value from the registry or the QR is HTML-escaped.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde_json::Value;

use crate::domain::verdict::{Severity, VerdictKind};
use crate::verification::Verdict;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Security headers of every page: no scripts at all, nothing from other
/// hosts, and no Referer (the JWS is in the URL).
pub fn page_response(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

fn band(v: VerdictKind) -> (&'static str, &'static str) {
    match v {
        VerdictKind::Valid => ("valid", "✔"),
        VerdictKind::Warning => ("warning", "!"),
        VerdictKind::Invalid => ("invalid", "✘"),
        VerdictKind::Indeterminate => ("indeterminate", "?"),
    }
}

fn row(out: &mut String, label: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(label),
            escape(v)
        ));
    }
}

fn status_zh(s: &str) -> &str {
    match s {
        "active" => "有效",
        "suspended" => "暂停（限期整改）",
        "revoked" => "已撤销",
        "expired" => "已过期",
        "superseded" => "已被新版本取代",
        "deregistered" => "已注销登记",
        "voided" => "已作废",
        other => other,
    }
}

fn certificate_rows(kind: Option<&str>, c: &Value) -> String {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let mut out = String::new();
    match kind {
        Some("RC") => {
            row(&mut out, "证书类型", Some("报废机动车回收证明"));
            row(&mut out, "证明编号", s(&c["number"]).as_deref());
            row(&mut out, "状态", s(&c["status"]).as_deref().map(status_zh));
            row(&mut out, "车辆识别代号", s(&c["vehicle"]["vin"]).as_deref());
            row(&mut out, "号牌号码", s(&c["vehicle"]["plate"]).as_deref());
            row(
                &mut out,
                "厂牌型号",
                s(&c["vehicle"]["brand_model"]).as_deref(),
            );
            row(&mut out, "车主", s(&c["owner"]["name"]).as_deref());
            row(&mut out, "回收企业", s(&c["enterprise"]["name"]).as_deref());
            row(
                &mut out,
                "统一社会信用代码",
                s(&c["enterprise"]["uscc"]).as_deref(),
            );
            row(&mut out, "接收日期", s(&c["received_on"]).as_deref());
            row(
                &mut out,
                "拆解日期",
                s(&c["dismantling"]["dismantled_on"]).as_deref(),
            );
            if let Some(at) = s(&c["deregistration"]["at"]) {
                let office = s(&c["deregistration"]["office"]).unwrap_or_default();
                row(
                    &mut out,
                    "注销登记",
                    Some(&format!("{} {}", &at[..10.min(at.len())], office)),
                );
            }
        }
        Some("QC") => {
            row(
                &mut out,
                "证书类型",
                Some("报废机动车回收拆解企业资质认定证书"),
            );
            row(&mut out, "证书编号", s(&c["number"]).as_deref());
            row(
                &mut out,
                "版本",
                c["revision"]
                    .as_i64()
                    .map(|r| format!("第{r}版"))
                    .as_deref(),
            );
            row(&mut out, "状态", s(&c["status"]).as_deref().map(status_zh));
            row(&mut out, "企业名称", s(&c["enterprise"]["name"]).as_deref());
            row(
                &mut out,
                "统一社会信用代码",
                s(&c["enterprise"]["uscc"]).as_deref(),
            );
            row(
                &mut out,
                "法定代表人",
                s(&c["enterprise"]["legal_representative"]).as_deref(),
            );
            if let Some(sites) = c["enterprise"]["dismantling_sites"].as_array() {
                let list: Vec<&str> = sites.iter().filter_map(Value::as_str).collect();
                row(&mut out, "拆解场地", Some(&list.join("；")));
            }
            row(&mut out, "发证机关", s(&c["issuing_authority"]).as_deref());
            row(&mut out, "发证日期", s(&c["issued_on"]).as_deref());
            row(&mut out, "有效期至", s(&c["valid_until"]).as_deref());
        }
        _ => {}
    }
    out
}

const STYLE: &str = "body{margin:0;font-family:system-ui,-apple-system,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;background:#f4f4f4;color:#111}\
.band{padding:20px 16px;color:#fff;display:flex;align-items:center;gap:14px}\
.band .icon{font-size:44px;line-height:1;width:56px;height:56px;border:4px solid #fff;border-radius:50%;display:flex;align-items:center;justify-content:center;font-weight:700}\
.band .word{font-size:40px;font-weight:800;letter-spacing:4px}\
.valid{background:#146c2e}.warning{background:#8a5a00}.invalid{background:#b00020}.indeterminate{background:#4a4a4a}\
main{padding:12px 16px;max-width:640px}\
ul{padding-left:20px}li{margin:6px 0;font-size:17px}li.error{font-weight:700}\
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:8px;border-bottom:1px solid #ddd;font-size:16px;vertical-align:top}\
th{width:40%;color:#444;font-weight:600}footer{padding:12px 16px;color:#666;font-size:13px}";

/// The verdict page (SPEC §4): a large status band, the reasons, the fields
/// an officer compares with the paper.
pub fn verdict_page(v: &Verdict) -> HttpResponse {
    let (class, icon) = band(v.verdict);
    let mut reasons = String::new();
    for f in &v.findings {
        let cls = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        reasons.push_str(&format!("<li class=\"{cls}\">{}</li>", escape(&f.message)));
    }
    if reasons.is_empty() {
        reasons.push_str("<li>证书真实、未被篡改，登记状态有效。</li>");
    }
    let table = v
        .certificate
        .as_ref()
        .map(|c| certificate_rows(v.kind.as_deref(), c))
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>证书核验：{word}</title><style>{STYLE}</style></head><body>\
<div class=\"band {class}\" role=\"status\"><span class=\"icon\" aria-hidden=\"true\">{icon}</span>\
<span class=\"word\">{word}</span></div><main><h2>核验结果</h2><ul>{reasons}</ul>\
{table_block}</main><footer>核验时间 {checked}（UTC）</footer></body></html>",
        word = v.verdict.zh(),
        table_block = if table.is_empty() {
            String::new()
        } else {
            format!("<h2>登记信息（请与纸质证书及车辆核对）</h2><table>{table}</table>")
        },
        checked = escape(&v.checked_at),
    );
    page_response(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<b a=\"x\">&'"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
