//! Server-rendered zh-CN pages for people: the verdict page a phone opens from
//! a QR, and the landing page to paste QR text or upload a photo. Plain HTML
//! and CSS: no scripts, nothing from other hosts, mobile first, and every
//! value from the registry or the QR HTML-escaped.

use crate::domain::lookup::VehicleStatus;
use crate::domain::verdict::{Severity, VerdictKind};
use crate::domain::{QcPublicStatus, QcStatus, RcStatus, RevocationKind};
use crate::http::views::{CertificateView, LogView, QualificationView, RcView, VerdictView};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, HttpResponseBuilder};

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

/// The security headers of every page: no script may run at all, nothing
/// loads from another host, forms post only here, and no Referer leaves the
/// page (the JWS is in its URL).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

pub(super) fn page(status: StatusCode, html: String) -> HttpResponse {
    HttpResponseBuilder::new(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html)
}

pub(super) const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'PingFang SC','Noto Sans CJK SC','Microsoft YaHei',sans-serif;\
background:#f2f2f2;color:#111;font-size:17px;line-height:1.45}\
header.top{background:#1d2b3a;color:#fff;padding:10px 16px;font-size:15px}\
.band{padding:18px 16px;color:#fff;display:flex;align-items:center;gap:14px}\
.band .icon{flex:none;font-size:40px;line-height:1;width:60px;height:60px;border:4px solid #fff;border-radius:50%;\
display:flex;align-items:center;justify-content:center;font-weight:800}\
.band .word{font-size:44px;font-weight:800;letter-spacing:6px}\
.band .what{font-size:15px;opacity:.95}\
.valid{background:#146c2e}.warning{background:#9a5b00}.invalid{background:#b00020}.indeterminate{background:#4a4a4a}\
main{padding:8px 14px 20px;max-width:680px;margin:0 auto}\
h2{font-size:18px;margin:18px 0 8px}\
ul.reasons{padding-left:0;list-style:none;margin:0}\
ul.reasons li{background:#fff;border-left:6px solid #999;margin:6px 0;padding:10px 12px;border-radius:4px}\
ul.reasons li.error{border-color:#b00020;font-weight:700}ul.reasons li.warning{border-color:#9a5b00}\
ul.reasons li.info{border-color:#5a6b7a;color:#333}p.log{color:#555;font-size:13px}\
table{border-collapse:collapse;width:100%;background:#fff;border-radius:4px}\
th,td{text-align:left;padding:9px 10px;border-bottom:1px solid #e2e2e2;vertical-align:top;word-break:break-all}\
th{width:32%;color:#444;font-weight:600;font-size:15px}\
td.big{font-size:18px;font-weight:700;font-family:ui-monospace,'DejaVu Sans Mono',monospace;word-break:normal;overflow-wrap:anywhere}\
form{background:#fff;padding:12px;border-radius:4px;margin:8px 0}\
label{display:block;font-weight:600;margin:8px 0 4px}\
textarea,input[type=text],input[type=password]{width:100%;font-size:16px;padding:8px;border:1px solid #999;border-radius:4px}\
input[type=file]{font-size:16px;width:100%}\
button{margin-top:10px;font-size:18px;padding:10px 18px;border:0;border-radius:4px;background:#1d2b3a;color:#fff;width:100%}\
details{margin:14px 0}summary{font-weight:600;cursor:pointer}\
p.notice{background:#fff3cd;border:1px solid #d9b44a;padding:10px;border-radius:4px}\
footer{padding:10px 16px;color:#666;font-size:13px;text-align:center}";

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{title}</title><style>{STYLE}</style></head><body>\
<header class=\"top\">报废机动车证书核验</header>{body}\
<footer>报废机动车回收拆解企业资质认定证书 · 报废机动车回收证明 登记核验</footer></body></html>",
        title = escape(title),
    )
}

/// Class and symbol of the status band: the symbol and the word carry the
/// meaning without colour.
fn band(v: VerdictKind) -> (&'static str, &'static str) {
    match v {
        VerdictKind::Valid => ("valid", "✓"),
        VerdictKind::Warning => ("warning", "!"),
        VerdictKind::Invalid => ("invalid", "✗"),
        VerdictKind::Indeterminate => ("indeterminate", "?"),
    }
}

fn band_hint(v: VerdictKind) -> &'static str {
    match v {
        VerdictKind::Valid => "证书真实、未被篡改、登记状态有效",
        VerdictKind::Warning => "证书真实，但有需要注意的情况",
        VerdictKind::Invalid => "证书不可信或已失效，请按规定处置",
        VerdictKind::Indeterminate => "暂时无法查询登记系统，请稍后再试",
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

fn big_row(out: &mut String, label: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.push_str(&format!(
            "<tr><th>{}</th><td class=\"big\">{}</td></tr>",
            escape(label),
            escape(v)
        ));
    }
}

fn qc_status_zh(s: QcPublicStatus) -> &'static str {
    match s {
        QcPublicStatus::Active => "有效",
        QcPublicStatus::Suspended => "暂停（限期整改）",
        QcPublicStatus::Revoked => "已撤销",
        QcPublicStatus::Expired => "已过期",
        QcPublicStatus::Superseded => "已被新版本取代",
    }
}

fn rc_status_zh(s: RcStatus) -> &'static str {
    match s {
        RcStatus::Active => "有效",
        RcStatus::Deregistered => "已注销登记",
        RcStatus::Voided => "已作废",
    }
}

fn revocation_zh(kind: Option<RevocationKind>) -> &'static str {
    kind.map_or("撤销", RevocationKind::zh)
}

/// `2024-03-01T08:00:00Z` → `2024-03-01 16:00`, in China Standard Time.
fn local_time(rfc3339: &str) -> String {
    crate::clock::parse_rfc3339(rfc3339)
        .map(|t| {
            (t + chrono::Duration::hours(8))
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| rfc3339.to_string())
}

fn rc_rows(c: &RcView) -> String {
    let mut out = String::new();
    row(&mut out, "证书", Some("报废机动车回收证明"));
    row(&mut out, "证明编号", Some(&c.number));
    row(&mut out, "状态", Some(rc_status_zh(c.status)));
    big_row(&mut out, "车辆识别代号", Some(&c.vehicle.vin));
    big_row(&mut out, "号牌号码", Some(&c.vehicle.plate));
    row(&mut out, "厂牌型号", Some(&c.vehicle.brand_model));
    row(&mut out, "发动机号", Some(&c.vehicle.engine_number));
    row(&mut out, "车主", Some(c.owner.name()));
    row(&mut out, "回收企业", Some(&c.enterprise.name));
    row(&mut out, "统一社会信用代码", Some(&c.enterprise.uscc));
    row(&mut out, "资质认定书编号", Some(&c.qualification_number));
    row(&mut out, "接收日期", Some(&c.received_on.to_string()));
    if let Some(d) = &c.dismantling {
        row(
            &mut out,
            "拆解",
            Some(&format!("{} {}", d.dismantled_on, d.site)),
        );
    }
    if let Some(d) = &c.deregistration {
        row(
            &mut out,
            "已注销",
            Some(&format!("{} {}", local_time(&d.at), d.office)),
        );
    }
    if let Some(v) = &c.voided {
        row(
            &mut out,
            "已作废",
            Some(&format!(
                "{} {}",
                local_time(&v.at),
                v.reason.as_deref().unwrap_or("")
            )),
        );
    }
    out
}

fn qc_rows(c: &QualificationView) -> String {
    let mut out = String::new();
    row(&mut out, "证书", Some("报废机动车回收拆解企业资质认定证书"));
    row(&mut out, "证书编号", Some(&c.number));
    let revision = if c.current_revision != c.revision {
        format!("第{}版（现行第{}版）", c.revision, c.current_revision)
    } else {
        format!("第{}版", c.revision)
    };
    row(&mut out, "版本", Some(&revision));
    let status = match c.status {
        QcPublicStatus::Revoked => format!("已{}", revocation_zh(c.revoked_as())),
        other => qc_status_zh(other).to_string(),
    };
    row(&mut out, "状态", Some(&status));
    big_row(&mut out, "企业名称", Some(&c.enterprise.name));
    big_row(&mut out, "统一社会信用代码", Some(&c.enterprise.uscc));
    row(
        &mut out,
        "法定代表人",
        Some(&c.enterprise.legal_representative),
    );
    row(&mut out, "住所", Some(&c.enterprise.address));
    row(
        &mut out,
        "拆解场地",
        Some(&c.enterprise.dismantling_sites.join("；")),
    );
    row(&mut out, "发证机关", Some(&c.issuing_authority));
    row(&mut out, "发证日期", Some(&c.issued_on.to_string()));
    row(
        &mut out,
        "有效期至",
        c.valid_until.map(|d| d.to_string()).as_deref(),
    );
    for h in c.status_history.iter().skip(1) {
        let label = match h.status {
            QcStatus::Suspended => "暂停",
            QcStatus::Revoked => revocation_zh(h.kind),
            QcStatus::Active => "恢复",
        };
        let reason = h.reason.as_deref().unwrap_or("");
        row(
            &mut out,
            label,
            Some(&format!("{} 起 {reason}", local_time(&h.effective_at))),
        );
    }
    out
}

/// The verdict page's one line on the tamper-evident log (SPEC §12).
fn log_line(log: &LogView) -> String {
    match log {
        LogView::Included {
            index, tree_size, ..
        } => format!(
            "防篡改日志：本证书最近一次登记变更是日志第{index}条，已由签名检查点（共{tree_size}条）证明未被改动。"
        ),
        LogView::Pending { index, .. } => format!(
            "防篡改日志：本证书最近一次登记变更已写入日志第{index}条，签名检查点将在一秒内生成。"
        ),
    }
}

/// The verdict page (SPEC §4): a large status band, the reasons in words,
/// and the fields an officer compares with the paper and the vehicle. With
/// `jws`, a form lets an officer record the checkpoint of this scan.
pub fn verdict_page(
    v: &VerdictView,
    jws: Option<&str>,
    notice: Option<&str>,
    complaint_phone: Option<&str>,
) -> HttpResponse {
    let (class, icon) = band(v.verdict);
    let mut body = format!(
        "<div class=\"band {class}\" role=\"status\" id=\"verdict\" data-verdict=\"{verdict}\">\
<span class=\"icon\" aria-hidden=\"true\">{icon}</span><div><div class=\"word\">{word}</div>\
<div class=\"what\">{hint}</div></div></div><main>",
        verdict = v.verdict.as_str(),
        word = v.verdict.zh(),
        hint = band_hint(v.verdict),
    );
    if let Some(n) = notice {
        body.push_str(&format!("<p class=\"notice\">{}</p>", escape(n)));
    }
    body.push_str("<h2>核验结论</h2><ul class=\"reasons\" id=\"reasons\">");
    if v.findings.is_empty() {
        body.push_str("<li>二维码签名有效，登记记录一致，证书在有效状态。</li>");
    }
    for f in &v.findings {
        let cls = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        body.push_str(&format!(
            "<li class=\"{cls}\" data-code=\"{}\">{}</li>",
            f.code.as_str(),
            escape(&f.message)
        ));
    }
    body.push_str("</ul>");
    if let Some(log) = &v.log {
        body.push_str(&format!(
            "<p class=\"log\" id=\"log\">{}</p>",
            log_line(log)
        ));
    }
    let rows = match &v.certificate {
        Some(CertificateView::Recycling(c)) => rc_rows(c),
        Some(CertificateView::Qualification(c)) => qc_rows(c),
        None => String::new(),
    };
    if !rows.is_empty() {
        body.push_str(&format!(
            "<h2>登记信息（请与纸质证书及车辆逐项核对）</h2><table id=\"record\">{rows}</table>"
        ));
    }
    // The officer's form posts back to the QR's own page: only for a QR whose
    // signature verified and whose text is plain base64url.
    let jws = jws.filter(|j| {
        v.kind.is_some()
            && j.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    });
    if let Some(jws) = jws {
        body.push_str(&format!(
            "<details><summary>民警：登记检查站</summary>\
<form method=\"post\" action=\"/v/{jws}\"><label for=\"checkpoint\">检查站</label>\
<input type=\"text\" id=\"checkpoint\" name=\"checkpoint\" maxlength=\"128\" required>\
<label for=\"token\">民警令牌</label><input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required>\
<button type=\"submit\">登记并重新核验</button></form></details>",
            jws = escape(jws)
        ));
    }
    if matches!(v.verdict, VerdictKind::Invalid | VerdictKind::Warning) {
        let number = match &v.certificate {
            Some(CertificateView::Recycling(c)) => Some(c.number.as_str()),
            Some(CertificateView::Qualification(c)) => Some(c.number.as_str()),
            None => None,
        };
        let query = number.map_or(String::new(), |n| {
            format!("?certificate={}", percent_encode(n))
        });
        body.push_str(&format!(
            "<p id=\"complaint\"><a href=\"/complaints/new{query}\">举报此证书或相关违法行为</a>{}</p>",
            complaint_phone.map_or(String::new(), |p| format!("　举报电话：{}", escape(p)))
        ));
    }
    body.push_str(&format!(
        "<p><a href=\"/\">核验其他证书</a></p></main><footer>核验时间 {}（北京时间）</footer>",
        escape(&local_time(&v.checked_at))
    ));
    page(
        StatusCode::OK,
        layout(&format!("证书核验：{}", v.verdict.zh()), &body),
    )
}

/// The landing page: paste the QR text, or upload a photo or scan of it.
/// The answer page of the VIN form (SPEC §14): whether the vehicle was
/// handed in for scrapping, and what a repairer must do then.
pub fn vehicle_page(
    status: StatusCode,
    vin: &str,
    answer: Option<(VehicleStatus, Option<String>)>,
    notice: Option<&str>,
) -> HttpResponse {
    let mut body = String::new();
    if let Some((s, since)) = &answer {
        let (class, icon) = if s.scrapped() {
            ("invalid", "✗")
        } else {
            ("valid", "✓")
        };
        body.push_str(&format!(
            "<section class=\"band {class}\" id=\"vehicle-status\" data-status=\"{code}\">\
<div class=\"icon\" aria-hidden=\"true\">{icon}</div><div><div class=\"word\">{word}</div>\
<div class=\"what\">{advice}</div></div></section>",
            code = s.as_str(),
            word = if s.scrapped() {
                "已报废"
            } else {
                "未查到"
            },
            advice = escape(s.advice()),
        ));
        body.push_str("<main><table>");
        big_row(&mut body, "车辆识别代号", Some(vin));
        row(&mut body, "登记状态", Some(s.zh()));
        row(&mut body, "日期", since.as_deref());
        body.push_str("</table>");
        if !s.scrapped() {
            body.push_str("<p>本系统只记录已交售报废的车辆；未查到记录不代表车辆手续齐全。</p>");
        }
    } else {
        body.push_str("<main>");
    }
    if let Some(n) = notice {
        body.push_str(&format!(
            "<p class=\"notice\" id=\"notice\">{}</p>",
            escape(n)
        ));
    }
    body.push_str(&vin_form(vin));
    body.push_str("</main>");
    page(status, layout("报废车辆查询", &body))
}

/// The VIN query form (landing page and answer page).
fn vin_form(vin: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/vehicles\" id=\"vehicle\">\
<label for=\"vin\">查询车辆是否已报废（维修企业、二手车买家）：车辆识别代号（VIN）</label>\
<input type=\"text\" id=\"vin\" name=\"vin\" maxlength=\"32\" required value=\"{}\" \
autocapitalize=\"characters\" autocomplete=\"off\" placeholder=\"17位车辆识别代号\">\
<button type=\"submit\">查询</button></form>",
        escape(vin)
    )
}

pub fn landing_page(status: StatusCode, notice: Option<&str>) -> HttpResponse {
    let mut body = String::from("<main><h2>核验报废机动车证书</h2>");
    if let Some(n) = notice {
        body.push_str(&format!(
            "<p class=\"notice\" id=\"notice\">{}</p>",
            escape(n)
        ));
    }
    body.push_str(
        "<p>用手机相机扫描证书上的二维码即可打开核验页面。也可以在这里粘贴二维码内容，或上传二维码的照片。</p>\
<form method=\"post\" action=\"/verify\" id=\"paste\"><label for=\"qr\">二维码内容</label>\
<textarea id=\"qr\" name=\"qr\" rows=\"4\" required placeholder=\"https://…/v/…\"></textarea>\
<button type=\"submit\">核验</button></form>\
<form method=\"post\" action=\"/verify/image\" enctype=\"multipart/form-data\" id=\"upload\">\
<label for=\"image\">二维码照片或扫描件（PNG、JPEG，不超过5MB）</label>\
<input type=\"file\" id=\"image\" name=\"image\" accept=\"image/png,image/jpeg\" required>\
<details><summary>民警：登记检查站（可选）</summary>\
<label for=\"checkpoint\">检查站</label><input type=\"text\" id=\"checkpoint\" name=\"checkpoint\" maxlength=\"128\">\
<label for=\"token\">民警令牌</label><input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\"></details>\
<button type=\"submit\">上传并核验</button></form>",
    );
    body.push_str(&vin_form(""));
    body.push_str("</main>");
    page(status, layout("报废机动车证书核验", &body))
}

/// Percent-encodes a query value (certificate numbers hold Chinese).
pub(super) fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The complaint form (举报), prefilled with a certificate when a verdict
/// page links to it.
pub fn complaint_form(
    certificate: Option<&str>,
    phone: Option<&str>,
    error: Option<&str>,
) -> HttpResponse {
    use crate::domain::campaign::ComplaintKind;
    use strum::IntoEnumIterator;
    let options: String = ComplaintKind::iter()
        .map(|k| format!("<option value=\"{}\">{}</option>", k.as_str(), k.zh()))
        .collect();
    let mut body = String::from("<main><h2>举报</h2>");
    if let Some(e) = error {
        body.push_str(&format!(
            "<p class=\"notice\" id=\"error\">{}</p>",
            escape(e)
        ));
    }
    if let Some(p) = phone {
        body.push_str(&format!(
            "<p>举报电话：<strong id=\"phone\">{}</strong></p>",
            escape(p)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"/complaints\">\
<label for=\"kind\">举报类型</label><select id=\"kind\" name=\"kind\">{options}</select>\
<label for=\"text\">情况说明</label><textarea id=\"text\" name=\"text\" rows=\"5\" maxlength=\"2000\" required></textarea>\
<label for=\"location\">地点（选填）</label><input type=\"text\" id=\"location\" name=\"location\" maxlength=\"256\">\
<label for=\"certificate\">证书编号或二维码（选填）</label><input type=\"text\" id=\"certificate\" name=\"certificate\" value=\"{cert}\">\
<label for=\"contact\">联系方式（选填，仅主管部门可见）</label><input type=\"text\" id=\"contact\" name=\"contact\" maxlength=\"128\">\
<button type=\"submit\">提交举报</button></form></main>",
        cert = escape(certificate.unwrap_or(""))
    ));
    page(StatusCode::OK, layout("举报", &body))
}

/// The receipt of a filed complaint.
pub fn complaint_receipt(receipt: &str, phone: Option<&str>) -> HttpResponse {
    let body = format!(
        "<main><h2>举报已受理</h2><p>受理编号：<strong id=\"receipt\">{}</strong></p>\
<p>请保存受理编号，以便查询处理情况。{}</p><p><a href=\"/\">返回</a></p></main>",
        escape(receipt),
        phone.map_or(String::new(), |p| format!("举报电话：{}", escape(p)))
    );
    page(StatusCode::CREATED, layout("举报已受理", &body))
}
