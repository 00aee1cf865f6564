//! The campaign desk's pages (SPEC §17), rendered on the server in zh-CN:
//! forms that post to the desk, tables, and the summary's inline-SVG chart.
//! No scripts (the Content-Security-Policy forbids them), every value
//! HTML-escaped, every posting form carrying the session's CSRF token, and
//! long lists split into pages so that no page passes 50 KB.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use strum::IntoEnumIterator;

use super::pages::{STYLE, escape, page};
use crate::domain::campaign::{CaseSource, CaseStatus, CaseSubjectKind, Offence, SiteMatch};
use crate::domain::jurisdiction::Level;
use crate::domain::{FieldCode, Principal, Role};
use crate::http::error::FieldIssue;
use crate::service::sessions::Session;
use crate::store::campaign::{CaseRow, ComplaintRow, SurveyRow, WorkItem};
use crate::store::events::EventRecord;

/// Rows of a list page.
pub const PAGE_ROWS: usize = 20;

/// Characters a table cell shows of a long value (the exports hold it all).
const CELL_CHARS: usize = 40;

const DESK_STYLE: &str = "\
nav{background:#2c3e50;padding:4px 10px;display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center}\
nav a{color:#fff;text-decoration:none;font-size:15px;padding:6px 0}nav a.here{font-weight:800;text-decoration:underline}\
nav form{background:none;padding:0;margin:0 0 0 auto}nav button{margin:0;padding:4px 10px;font-size:14px;width:auto;background:#7a2a2a}\
main.desk{max-width:980px}p.who{color:#555;font-size:14px;margin:6px 0}\
table.list th{width:auto;font-size:14px;background:#e9edf1}table.list td{font-size:15px}\
.tag{display:inline-block;padding:1px 6px;border-radius:3px;font-size:13px;color:#fff;white-space:nowrap}\
.m-qualified_site{background:#146c2e}.m-filed_branch{background:#9a5b00}.m-none{background:#b00020}\
.s-open{background:#b00020}.s-rectifying{background:#9a5b00}.s-closed{background:#146c2e}.s-referred_to_police{background:#3b4a9a}\
form.filters{display:flex;flex-wrap:wrap;gap:6px;align-items:flex-end}form.filters label{margin:0;font-size:14px}\
form.filters select,form.filters input{font-size:15px;padding:6px}form.filters button{width:auto;margin:0;padding:7px 14px;font-size:15px}\
select,input[type=date],input[type=number]{font-size:16px;padding:7px;border:1px solid #999;border-radius:4px;width:100%}\
form.filters select,form.filters input[type=text]{width:auto}\
p.field-error{color:#b00020;font-size:14px;margin:2px 0}p.ok{background:#e3f4e8;border:1px solid #5a9a6a;padding:10px;border-radius:4px}\
a.button{display:inline-block;background:#1d2b3a;color:#fff;padding:4px 10px;border-radius:4px;text-decoration:none;font-size:14px;white-space:nowrap}\
.pager a{margin-right:12px}.cards a{display:block;background:#fff;margin:8px 0;padding:14px;border-radius:4px;color:#111;text-decoration:none;border-left:6px solid #1d2b3a}\
.actions form{display:inline-block;background:none;padding:0;margin:4px 8px 4px 0}.actions button{width:auto;font-size:16px}\
svg{background:#fff;border-radius:4px;max-width:100%;height:auto}";

/// The desk's pages, by what they show (the navigation's entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Here {
    Home,
    Survey,
    Cases,
    Worklists,
    Complaints,
    Summary,
    None,
}

fn role_zh(p: &Principal) -> String {
    let level = match p.level {
        Some(Level::National) => "国家",
        Some(Level::Province) => "省级",
        Some(Level::City) => "市级",
        Some(Level::County) => "县级",
        None => "",
    };
    match p.role {
        Role::Township => format!(
            "乡镇填报（{} {}）",
            p.division.as_deref().unwrap_or(""),
            p.township.as_deref().unwrap_or("")
        ),
        _ => format!(
            "{level}主管部门（{}{}）",
            p.org.as_deref().unwrap_or(""),
            p.division
                .as_deref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default()
        ),
    }
}

/// A page of the desk: the navigation (by role) and the sign-out form when
/// someone is signed in.
pub fn desk_page(
    status: StatusCode,
    title: &str,
    session: Option<&Session>,
    here: Here,
    body: &str,
) -> HttpResponse {
    let mut nav = String::new();
    if let Some(s) = session {
        let mut links = vec![
            (Here::Home, "/desk", "工作台"),
            (Here::Survey, "/desk/survey", "摸排表"),
        ];
        if s.principal.role == Role::Authority {
            links.extend([
                (Here::Cases, "/desk/cases", "问题台账"),
                (Here::Worklists, "/desk/worklists", "工作清单"),
                (Here::Complaints, "/desk/complaints", "举报"),
                (Here::Summary, "/desk/summary", "工作总结"),
            ]);
        }
        nav.push_str("<nav>");
        for (h, href, label) in links {
            let class = if h == here { " class=\"here\"" } else { "" };
            nav.push_str(&format!("<a href=\"{href}\"{class}>{label}</a>"));
        }
        nav.push_str(&format!(
            "<form method=\"post\" action=\"/desk/signout\">{}<button type=\"submit\" id=\"signout\">退出</button></form></nav>",
            csrf_field(&s.csrf)
        ));
    }
    let who = session
        .map(|s| {
            format!(
                "<p class=\"who\" id=\"who\">{}</p>",
                escape(&role_zh(&s.principal))
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{title} · 整治工作台</title><style>{STYLE}{DESK_STYLE}</style></head><body>\
<header class=\"top\">报废机动车回收拆解整治工作台</header>{nav}<main class=\"desk\">{who}<h2>{title}</h2>{body}</main>\
<footer>报废机动车回收拆解行业专项整治 · 摸排、台账、销号</footer></body></html>",
        title = escape(title),
    );
    page(status, html)
}

pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

/// A notice at the top of a page (an error or a done).
pub fn notice(text: &str, ok: bool) -> String {
    let (class, id) = if ok {
        ("ok", "done")
    } else {
        ("notice", "error")
    };
    format!("<p class=\"{class}\" id=\"{id}\">{}</p>", escape(text))
}

/// The sign-in form; `pre` is the sign-in form's own CSRF value (its cookie
/// holds the same).
pub fn signin(pre: &str, error: Option<&str>) -> String {
    format!(
        "{}<form method=\"post\" action=\"/desk/signin\">{}\
<label for=\"token\">访问令牌</label><input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required>\
<button type=\"submit\" id=\"signin\">登录</button></form>\
<p class=\"who\">令牌由主管部门发放（乡镇填报令牌或主管部门令牌）。登录后在本机保持{}，退出或令牌被撤销即失效。</p>",
        error.map(|e| notice(e, false)).unwrap_or_default(),
        csrf_field(pre),
        "一个工作日"
    )
}

pub fn home(s: &Session) -> String {
    let mut out = String::from("<div class=\"cards\">");
    out.push_str("<a href=\"/desk/survey\"><strong>摸排表</strong><br>填报、查看非法回收拆解网点摸排情况，自动比对资质企业拆解场地与备案分支机构</a>");
    if s.principal.role == Role::Authority {
        out.push_str(
            "<a href=\"/desk/cases\"><strong>问题台账</strong><br>问题清单与整治台账：立案、整改、盘点销号、移送公安机关</a>\
<a href=\"/desk/worklists\"><strong>工作清单</strong><br>从登记数据中查出的逾期未拆解、未注销、资质失效、扫码异常、疑似出租资质</a>\
<a href=\"/desk/complaints\"><strong>举报</strong><br>群众举报线索，转为台账案件</a>\
<a href=\"/desk/summary\"><strong>工作总结</strong><br>按乡镇、问题类型、状态统计，附图表与导出</a>",
        );
    }
    out.push_str("</div>");
    out
}

/// A table cell's text: at most [`CELL_CHARS`] characters.
fn short(s: &str) -> String {
    cut(s, CELL_CHARS)
}

/// At most `n` characters of a text, escaped, with `…` where it was cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        escape(s)
    } else {
        let head: String = s.chars().take(n - 1).collect();
        format!("{}…", escape(&head))
    }
}

/// The zh-CN label of a form field.
pub fn field_zh(field: &str) -> &'static str {
    match field {
        "township" => "乡镇",
        "site_name" => "网点名称",
        "address" => "经营地址",
        "business_scope" => "经营范围",
        "parts_flow" => "“五大总成”流向",
        "reporter" => "填报人",
        "reporter_phone" => "联系电话",
        "found_on" => "发现日期",
        "lat" => "纬度",
        "lon" => "经度",
        "note" => "备注",
        "division" => "县区代码",
        "subject" | "subject.kind" => "对象类型",
        "subject.ref" => "对象",
        "offence" => "问题类型",
        "source" => "来源",
        "responsible_unit" => "责任单位",
        "deadline" => "整改期限",
        "to" => "操作",
        "status" => "状态",
        _ => "表单",
    }
}

fn code_zh(code: FieldCode) -> &'static str {
    match code {
        FieldCode::Required => "必须填写",
        FieldCode::InvalidFormat => "格式不正确",
        FieldCode::InvalidCheckDigit => "校验位不正确",
        FieldCode::TooLong => "内容过长",
        FieldCode::InFuture => "不能晚于今天",
        FieldCode::OutOfOrder => "不能早于发现日期",
        FieldCode::UnknownValue => "不是可选的值",
    }
}

/// A form's values and its field errors, to show it again as it was sent.
#[derive(Default)]
pub struct Filled<'a> {
    pub values: BTreeMap<String, String>,
    pub errors: &'a [FieldIssue],
}

impl Filled<'_> {
    fn value(&self, name: &str) -> String {
        escape(self.values.get(name).map_or("", String::as_str))
    }

    fn error(&self, name: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == name || (name == "subject.kind" && e.field == "subject"))
            .map(|e| {
                format!(
                    "<p class=\"field-error\" id=\"error-{name}\">{}{}</p>",
                    field_zh(&e.field),
                    code_zh(e.code)
                )
            })
            .collect()
    }

    /// A labelled text input.
    fn input(&self, name: &str, kind: &str, extra: &str) -> String {
        format!(
            "<label for=\"{name}\">{}</label><input type=\"{kind}\" id=\"{name}\" name=\"{name}\" value=\"{}\"{extra}>{}",
            field_zh(name),
            self.value(name),
            self.error(name)
        )
    }

    /// A labelled choice of codes with their zh-CN names.
    fn select(&self, name: &str, options: &[(&str, &str)], blank: bool) -> String {
        let chosen = self.values.get(name).map_or("", String::as_str);
        let mut out = format!(
            "<label for=\"{name}\">{}</label><select id=\"{name}\" name=\"{name}\">",
            field_zh(name)
        );
        if blank {
            out.push_str("<option value=\"\">（全部）</option>");
        }
        for (code, zh) in options {
            let sel = if *code == chosen { " selected" } else { "" };
            out.push_str(&format!("<option value=\"{code}\"{sel}>{zh}</option>"));
        }
        out.push_str("</select>");
        out.push_str(&self.error(name));
        out
    }
}

/// Does the caller name the county of a new record (it is above a county)?
fn names_division(p: &Principal) -> bool {
    p.division.as_deref().is_none_or(|d| d.len() < 6)
}

pub fn survey_form(s: &Session, mut f: Filled<'_>, today: &str) -> String {
    let p = &s.principal;
    let mut out = format!(
        "<form method=\"post\" action=\"/desk/survey\" id=\"survey-form\">{}",
        csrf_field(&s.csrf)
    );
    if names_division(p) {
        out.push_str(&f.input(
            "division",
            "text",
            " inputmode=\"numeric\" maxlength=\"6\" required",
        ));
    }
    let township_extra = if p.role == Role::Township {
        " readonly"
    } else {
        " required"
    };
    if p.role == Role::Township {
        f.values
            .insert("township".into(), p.township.clone().unwrap_or_default());
    }
    f.values
        .entry("found_on".into())
        .or_insert_with(|| today.to_string());
    out.push_str(&f.input("township", "text", township_extra));
    out.push_str(&f.input("site_name", "text", " required maxlength=\"128\""));
    out.push_str(&f.input("address", "text", " required maxlength=\"256\""));
    out.push_str(&f.input("business_scope", "text", " required maxlength=\"256\""));
    out.push_str(&f.input("parts_flow", "text", " required maxlength=\"256\""));
    out.push_str(&f.input("reporter", "text", " required maxlength=\"128\""));
    out.push_str(&f.input(
        "reporter_phone",
        "text",
        " required inputmode=\"tel\" maxlength=\"20\"",
    ));
    out.push_str(&f.input("found_on", "date", &format!(" required max=\"{today}\"")));
    out.push_str(&f.input("lat", "text", " inputmode=\"decimal\""));
    out.push_str(&f.input("lon", "text", " inputmode=\"decimal\""));
    out.push_str(&f.input("note", "text", " maxlength=\"500\""));
    out.push_str("<button type=\"submit\" id=\"survey-submit\">提交摸排记录</button></form>");
    out
}

/// A code shown by its zh-CN name, coloured by its class (`m-…`, `s-…`),
/// and named in a `data-` attribute for tests and styles.
fn tag<T: std::str::FromStr>(
    attr: &str,
    class: &str,
    code: &str,
    zh: fn(T) -> &'static str,
) -> String {
    format!(
        "<span class=\"tag {class}-{c}\" data-{attr}=\"{c}\">{}</span>",
        zh_of(code, zh),
        c = escape(code),
    )
}

fn match_tag(code: &str) -> String {
    tag("match", "m", code, SiteMatch::zh)
}

fn status_tag(code: &str) -> String {
    tag("status", "s", code, CaseStatus::zh)
}

fn zh_of<T: std::str::FromStr>(code: &str, zh: fn(T) -> &'static str) -> String {
    escape(
        &code
            .parse::<T>()
            .map_or(code.to_string(), |t| zh(t).to_string()),
    )
}

/// The filters and the links to this list's pages and downloads.
pub struct ListNav<'a> {
    /// The list's path, and its query without `page`.
    pub path: &'a str,
    pub query: String,
    pub page: usize,
    pub total: usize,
}

impl ListNav<'_> {
    fn link(&self, page: usize) -> String {
        let sep = if self.query.is_empty() { "" } else { "&amp;" };
        format!("{}?{}{sep}page={page}", self.path, escape(&self.query))
    }

    fn pager(&self) -> String {
        let pages = self.total.div_ceil(PAGE_ROWS).max(1);
        let mut out = format!(
            "<p class=\"pager\" id=\"pager\">共 {} 条，第 {} / {pages} 页 ",
            self.total, self.page
        );
        if self.page > 1 {
            out.push_str(&format!(
                "<a href=\"{}\">上一页</a>",
                self.link(self.page - 1)
            ));
        }
        if self.page < pages {
            out.push_str(&format!(
                "<a href=\"{}\" id=\"next\">下一页</a>",
                self.link(self.page + 1)
            ));
        }
        out.push_str("</p>");
        out
    }

    fn downloads(&self, export: &str) -> String {
        let sep = if self.query.is_empty() { "" } else { "&amp;" };
        let q = escape(&self.query);
        format!(
            "<p>下载：<a href=\"{export}?{q}{sep}format=xlsx\" id=\"download-xlsx\">Excel（.xlsx）</a>　\
<a href=\"{export}?{q}{sep}format=csv\" id=\"download-csv\">CSV</a></p>"
        )
    }
}

/// One page of rows (page 1 the first; past the last, none).
pub fn page_of<T>(rows: Vec<T>, page: usize) -> Vec<T> {
    rows.into_iter()
        .skip((page.max(1) - 1).saturating_mul(PAGE_ROWS))
        .take(PAGE_ROWS)
        .collect()
}

/// A worklist item's key in the link that opens a case from it: the item
/// itself, hashed (two items may share a number: one QC shown by two
/// enterprises, one RC on two days).
pub fn item_key(i: &WorkItem) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [&i.kind, &i.number, &i.enterprise_uscc, &i.since, &i.detail] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

pub fn survey_list(
    s: &Session,
    rows: &[SurveyRow],
    nav: &ListNav<'_>,
    filter: &Filled<'_>,
) -> String {
    let matches: Vec<(&str, &str)> = SiteMatch::iter().map(|m| (m.as_str(), m.zh())).collect();
    let mut out = String::from(
        "<h2>摸排记录</h2><form class=\"filters\" method=\"get\" action=\"/desk/survey\">",
    );
    if s.principal.role != Role::Township {
        out.push_str(&filter.input("township", "text", ""));
    }
    out.push_str(&format!(
        "<label for=\"match\">比对结果</label><select id=\"match\" name=\"match\"><option value=\"\">（全部）</option>{}</select>\
<button type=\"submit\">筛选</button></form>",
        matches
            .iter()
            .map(|(c, zh)| {
                let sel = if filter.values.get("match").map(String::as_str) == Some(c) {
                    " selected"
                } else {
                    ""
                };
                format!("<option value=\"{c}\"{sel}>{zh}</option>")
            })
            .collect::<String>()
    ));
    out.push_str(&nav.downloads("/desk/survey/export"));
    out.push_str(
        "<table class=\"list\" id=\"surveys\"><tr><th>乡镇</th><th>网点名称</th><th>经营地址</th>\
<th>比对结果</th><th>发现日期</th><th>填报人</th><th></th></tr>",
    );
    let desk = s.principal.role == Role::Authority;
    for r in rows {
        let action = if desk && r.site_match != SiteMatch::QualifiedSite.as_str() {
            format!(
                "<a class=\"button\" href=\"/desk/cases/new?from=survey&amp;id={}\">立案</a>",
                escape(&r.id)
            )
        } else {
            String::new()
        };
        let owner = r
            .matched_uscc
            .as_deref()
            .map(|u| format!("<br><small>{}</small>", escape(u)))
            .unwrap_or_default();
        out.push_str(&format!(
            "<tr data-id=\"{id}\"><td>{}</td><td>{}</td><td>{}</td><td>{}{owner}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            short(&r.township),
            short(&r.site_name),
            short(&r.address),
            match_tag(&r.site_match),
            r.found_on,
            short(&r.reporter),
            id = escape(&r.id),
        ));
    }
    out.push_str("</table>");
    out.push_str(&nav.pager());
    out
}

fn options<T: IntoEnumIterator + Copy + Into<&'static str>>(
    zh: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    T::iter().map(|t| (t.into(), zh(t))).collect()
}

pub fn case_filters(f: &Filled<'_>) -> String {
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/desk/cases\">{}{}{}<button type=\"submit\">筛选</button></form>",
        f.select("status", &options::<CaseStatus>(CaseStatus::zh), true)
            .replace("<label for=\"status\">表单", "<label for=\"status\">状态"),
        f.select("offence", &options::<Offence>(Offence::zh), true),
        f.input("township", "text", ""),
    )
}

pub fn case_list(rows: &[CaseRow], nav: &ListNav<'_>, filters: &Filled<'_>) -> String {
    let mut out = String::from(
        "<p><a class=\"button\" href=\"/desk/cases/new\" id=\"new-case\">新建案件</a></p>",
    );
    out.push_str(&case_filters(filters));
    out.push_str(&nav.downloads("/desk/cases/export"));
    out.push_str(
        "<table class=\"list\" id=\"cases\"><tr><th>乡镇</th><th>对象</th><th>问题类型</th><th>状态</th>\
<th>发现日期</th><th>整改期限</th><th>责任单位</th></tr>",
    );
    for r in rows {
        out.push_str(&format!(
            "<tr data-id=\"{id}\"><td>{}</td><td><a href=\"/desk/cases/{id}\">{}：{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            short(&r.township),
            zh_of::<CaseSubjectKind>(&r.subject_kind, CaseSubjectKind::zh),
            short(&r.subject_ref),
            zh_of::<Offence>(&r.offence, Offence::zh),
            status_tag(&r.status),
            r.found_on,
            r.deadline.map(|d| d.to_string()).unwrap_or_default(),
            short(&r.responsible_unit),
            id = escape(&r.id),
        ));
    }
    out.push_str("</table>");
    out.push_str(&nav.pager());
    out
}

pub fn case_form(s: &Session, mut f: Filled<'_>, today: &str) -> String {
    f.values
        .entry("found_on".into())
        .or_insert_with(|| today.to_string());
    let mut out = format!(
        "<form method=\"post\" action=\"/desk/cases\" id=\"case-form\">{}",
        csrf_field(&s.csrf)
    );
    if names_division(&s.principal) {
        out.push_str(&f.input("division", "text", " inputmode=\"numeric\" maxlength=\"6\""));
    }
    out.push_str(&f.select(
        "subject.kind",
        &options::<CaseSubjectKind>(CaseSubjectKind::zh),
        false,
    ));
    out.push_str(&f.input("subject.ref", "text", " required maxlength=\"128\""));
    out.push_str(&f.select("offence", &options::<Offence>(Offence::zh), false));
    out.push_str(&f.select("source", &options::<CaseSource>(CaseSource::zh), false));
    out.push_str(&f.input("township", "text", " required maxlength=\"128\""));
    out.push_str(&f.input("found_on", "date", &format!(" required max=\"{today}\"")));
    out.push_str(&f.input("responsible_unit", "text", " required maxlength=\"128\""));
    out.push_str(&f.input("deadline", "date", ""));
    out.push_str(&format!(
        "<label for=\"note\">情况说明</label><textarea id=\"note\" name=\"note\" rows=\"4\" maxlength=\"500\" required>{}</textarea>{}",
        f.value("note"),
        f.error("note")
    ));
    out.push_str("<button type=\"submit\" id=\"case-submit\">立案</button></form>");
    out
}

fn local(t: chrono::NaiveDateTime) -> String {
    crate::clock::china_time(t)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn case_detail(s: &Session, c: &CaseRow, history: &[EventRecord], error: &str) -> String {
    let mut out = String::from(error);
    out.push_str("<table id=\"case\">");
    let rows = [
        ("状态", status_tag(&c.status)),
        (
            "对象",
            format!(
                "{}：{}",
                zh_of::<CaseSubjectKind>(&c.subject_kind, CaseSubjectKind::zh),
                escape(&c.subject_ref)
            ),
        ),
        ("问题类型", zh_of::<Offence>(&c.offence, Offence::zh)),
        ("来源", zh_of::<CaseSource>(&c.source, CaseSource::zh)),
        ("乡镇", escape(&c.township)),
        ("县区代码", escape(&c.division)),
        ("发现日期", c.found_on.to_string()),
        ("责任单位", escape(&c.responsible_unit)),
        (
            "整改期限",
            c.deadline
                .map(|d| d.to_string())
                .unwrap_or_else(|| "—".into()),
        ),
        ("情况说明", escape(&c.note)),
        ("编号", escape(&c.id)),
    ];
    for (label, value) in rows {
        out.push_str(&format!("<tr><th>{label}</th><td>{value}</td></tr>"));
    }
    out.push_str("</table>");
    let status = c.status.parse::<CaseStatus>().ok();
    let moves = status.map(CaseStatus::moves).unwrap_or_default();
    if !moves.is_empty() {
        out.push_str(&format!(
            "<h2>办理</h2><form method=\"post\" action=\"/desk/cases/{}/transition\" id=\"transition\" class=\"actions\">{}\
<label for=\"note\">办理情况</label><textarea id=\"note\" name=\"note\" rows=\"3\" maxlength=\"500\" required></textarea>",
            escape(&c.id),
            csrf_field(&s.csrf)
        ));
        for m in moves {
            out.push_str(&format!(
                "<button type=\"submit\" name=\"to\" value=\"{}\" id=\"to-{}\">{}</button>",
                m.as_str(),
                m.as_str(),
                m.verb_zh()
            ));
        }
        out.push_str("</form>");
    }
    out.push_str("<h2>办理记录</h2><table class=\"list\" id=\"history\"><tr><th>时间</th><th>事项</th><th>说明</th></tr>");
    for e in history {
        let what = e.data.get("to").and_then(|v| v.as_str()).map_or_else(
            || "立案".to_string(),
            |to| format!("→ {}", zh_of::<CaseStatus>(to, CaseStatus::zh)),
        );
        let note = e.data.get("note").and_then(|v| v.as_str()).unwrap_or("");
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            local(e.at),
            what,
            escape(note)
        ));
    }
    out.push_str("</table>");
    out
}

pub fn worklist_index(lists: &[(&str, &str)]) -> String {
    let mut out = String::from("<div class=\"cards\">");
    for (name, zh) in lists {
        out.push_str(&format!(
            "<a href=\"/desk/worklists/{name}\" id=\"list-{name}\"><strong>{zh}</strong></a>"
        ));
    }
    out.push_str("</div>");
    out
}

pub fn worklist(name: &str, items: &[WorkItem], nav: &ListNav<'_>) -> String {
    let mut out = format!(
        "<p>下载：<a href=\"/desk/worklists/{name}/export?format=csv\" id=\"download-csv\">CSV</a></p>\
<table class=\"list\" id=\"items\"><tr><th>证书</th><th>企业</th><th>起算日期</th><th>情况</th><th></th></tr>"
    );
    for i in items {
        out.push_str(&format!(
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td>\
<td><a class=\"button\" href=\"/desk/cases/new?from=worklist&amp;list={name}&amp;item={}\">立案</a></td></tr>",
            escape(&i.kind),
            escape(&i.number),
            escape(&i.enterprise_uscc),
            escape(&i.since),
            short(&i.detail),
            item_key(i),
        ));
    }
    out.push_str("</table>");
    out.push_str(&nav.pager());
    out
}

pub fn complaints(rows: &[ComplaintRow], nav: &ListNav<'_>) -> String {
    use crate::domain::campaign::ComplaintKind;
    let mut out = String::from(
        "<table class=\"list\" id=\"complaints\"><tr><th>受理号</th><th>时间</th><th>类型</th><th>情况</th>\
<th>地点 / 证书</th><th>联系方式</th><th></th></tr>",
    );
    for r in rows {
        let place = [r.location.as_deref(), r.certificate.as_deref()]
            .into_iter()
            .flatten()
            .map(short)
            .collect::<Vec<_>>()
            .join("<br>");
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{place}</td><td>{}</td>\
<td><a class=\"button\" href=\"/desk/cases/new?from=complaint&amp;id={}\">立案</a></td></tr>",
            escape(&r.receipt),
            local(r.received_at),
            zh_of::<ComplaintKind>(&r.kind, ComplaintKind::zh),
            short(&r.text),
            r.contact.as_deref().map(escape).unwrap_or_default(),
            escape(&r.id),
        ));
    }
    out.push_str("</table>");
    out.push_str(&nav.pager());
    out
}

/// The colour of a status's bar (the tags' colours).
fn bar_colour(s: CaseStatus) -> &'static str {
    match s {
        CaseStatus::Open => "#b00020",
        CaseStatus::Rectifying => "#9a5b00",
        CaseStatus::Closed => "#146c2e",
        CaseStatus::ReferredToPolice => "#3b4a9a",
    }
}

/// The 工作总结: an inline-SVG bar per township (its cases stacked by
/// status, every segment labelled with its count) and the table.
pub fn summary(rows: &[(String, String, String, i64)]) -> String {
    let mut by_township: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    for (township, _, status, n) in rows {
        *by_township
            .entry(township)
            .or_default()
            .entry(status)
            .or_default() += n;
    }
    let most = by_township
        .values()
        .map(|m| m.values().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (label_w, bar_w, row_h, top) = (110.0, 300.0, 30.0, 34.0);
    let height = top + row_h * by_township.len() as f64 + 8.0;
    let mut svg = format!(
        "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 460 {height}\" width=\"460\" height=\"{height}\" role=\"img\" aria-label=\"各乡镇案件办理情况\">"
    );
    let mut x = 8.0;
    for s in CaseStatus::iter() {
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"8\" width=\"14\" height=\"14\" fill=\"{}\"/><text x=\"{}\" y=\"20\" font-size=\"13\">{}</text>",
            bar_colour(s),
            x + 18.0,
            s.zh()
        ));
        x += 18.0 + 14.0 * s.zh().chars().count() as f64 + 12.0;
    }
    for (i, (township, counts)) in by_township.iter().enumerate() {
        let y = top + row_h * i as f64;
        svg.push_str(&format!(
            "<g data-township=\"{t}\"><text x=\"4\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 18.0,
            cut(township, 8),
            t = escape(township),
        ));
        let mut x = label_w;
        for s in CaseStatus::iter() {
            let n = counts.get(s.as_str()).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let w = bar_w * n as f64 / most as f64;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{}\" width=\"{w:.1}\" height=\"22\" fill=\"{}\" data-status=\"{}\" data-count=\"{n}\"><title>{} {}：{n}</title></rect>",
                y + 3.0,
                bar_colour(s),
                s.as_str(),
                escape(township),
                s.zh()
            ));
            if w >= 14.0 {
                svg.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" fill=\"#fff\" text-anchor=\"middle\">{n}</text>",
                    x + w / 2.0,
                    y + 18.0
                ));
            }
            x += w;
        }
        let total: i64 = counts.values().sum();
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" fill=\"#333\">{total}</text></g>",
            x + 4.0,
            y + 18.0
        ));
    }
    svg.push_str("</svg>");
    let mut out = String::new();
    if by_township.is_empty() {
        out.push_str("<p id=\"empty\">尚无案件。</p>");
    } else {
        out.push_str(&svg);
    }
    out.push_str(
        "<p>下载：<a href=\"/desk/summary/export?format=xlsx\" id=\"download-xlsx\">Excel（.xlsx）</a>　\
<a href=\"/desk/summary/export?format=csv\" id=\"download-csv\">CSV</a></p>\
<table class=\"list\" id=\"summary\"><tr><th>乡镇</th><th>问题类型</th><th>状态</th><th>数量</th></tr>",
    );
    for (township, offence, status, n) in rows {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{n}</td></tr>",
            short(township),
            zh_of::<Offence>(offence, Offence::zh),
            status_tag(status)
        ));
    }
    out.push_str("</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_to_their_length_and_escaped() {
        assert_eq!(cut("龙光桥镇", 8), "龙光桥镇");
        assert_eq!(cut("一二三四五六七八九", 8), "一二三四五六七…");
        assert_eq!(cut("<b>", 8), "&lt;b&gt;");
    }

    #[test]
    fn a_page_past_the_end_is_empty_whatever_its_number() {
        let rows: Vec<u32> = (0..25).collect();
        assert_eq!(page_of(rows.clone(), 2), (20..25).collect::<Vec<_>>());
        assert_eq!(page_of(rows.clone(), 0), (0..20).collect::<Vec<_>>());
        assert!(page_of(rows, usize::MAX).is_empty());
    }

    #[test]
    fn items_sharing_a_number_have_different_keys() {
        let item = |detail: &str| WorkItem {
            kind: "QC".into(),
            number: "湘报废资字2024001".into(),
            enterprise_uscc: "91430903MA4L000017".into(),
            division: Some("430903".into()),
            since: "2026-12-04".into(),
            detail: detail.into(),
        };
        let (a, b) = (item("企业 A"), item("企业 B"));
        assert_ne!(item_key(&a), item_key(&b));
        assert_eq!(item_key(&a), item_key(&a.clone()));
        assert_eq!(item_key(&a).len(), 16);
    }

    #[test]
    fn the_chart_scales_each_township_to_the_largest() {
        let row = |t: &str, s: &str, n| (t.to_string(), "other".to_string(), s.to_string(), n);
        let svg = summary(&[
            row("兰溪镇", "closed", 3),
            row("兰溪镇", "open", 1),
            row("龙光桥镇", "open", 2),
        ]);
        // 兰溪镇's four cases fill the 300-unit bar; 龙光桥镇's two half of it.
        assert!(svg.contains("width=\"225.0\" height=\"22\" fill=\"#146c2e\" data-status=\"closed\" data-count=\"3\""), "{svg}");
        assert!(svg.contains(
            "width=\"75.0\" height=\"22\" fill=\"#b00020\" data-status=\"open\" data-count=\"1\""
        ));
        assert!(svg.contains(
            "width=\"150.0\" height=\"22\" fill=\"#b00020\" data-status=\"open\" data-count=\"2\""
        ));
        assert!(summary(&[]).contains("尚无案件"));
    }
}
