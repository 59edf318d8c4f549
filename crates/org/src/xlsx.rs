//! Spreadsheet import and export of organisations and members (calamine reads, rust_xlsxwriter
//! writes). An import checks every row first and writes nothing when any row is bad; rows are
//! keyed (组织编码, 身份证号) so re-importing the same file, or retrying after a crash, converges
//! on the same data instead of duplicating it.

use std::collections::HashMap;

use calamine::Data;
use dwt_upload::{xlsx_grid, Grid, UploadLimits};
use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;

use crate::authz::{Action, Principal};
use crate::members::{Member, MemberInput, MemberRepo};
use crate::orgs::{Org, OrgInput, OrgRepo};
use crate::CoreError;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowError {
    /// 1-based sheet row.
    pub row: usize,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ImportReport {
    pub inserted: usize,
    pub updated: usize,
    pub errors: Vec<RowError>,
}

const ORG_HEADERS: [&str; 11] = ["组织编码", "组织名称", "组织类型", "上级组织编码", "负责人", "联系电话", "地址", "纬度", "经度", "排序", "状态"];
const MEMBER_HEADERS: [&str; 15] =
    ["姓名", "性别", "民族", "出生日期", "身份证号", "学历", "手机号", "入党日期", "转正日期", "党员状态", "所在党组织编码", "所在党组织", "党内职务", "工作单位", "备注"];

fn excel_serial_to_date(serial: f64) -> Option<String> {
    // Dates Excel can show: 1900-01-01 … 9999-12-31.
    if !(1.0..3_000_000.0).contains(&serial) {
        return None;
    }
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let d = base.checked_add_signed(chrono::TimeDelta::try_days(serial.floor() as i64)?)?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn cell_text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Int(i) => i.to_string(),
        Data::DateTime(d) => excel_serial_to_date(d.as_f64()).unwrap_or_default(),
        Data::DateTimeIso(s) => s.chars().take(10).collect(),
        other => other.to_string().trim().to_string(),
    }
}

/// (1-based row number, header → text, header → raw cell).
type SheetRow = (usize, HashMap<String, String>, Vec<(String, Data)>);

/// Rows of the first sheet below the header, parsed on a blocking thread within `limits` (an
/// upload must neither stall the async workers nor allocate for what the file claims).
async fn parse_rows(bytes: &[u8], limits: &UploadLimits, required: &'static [&'static str]) -> Result<Vec<SheetRow>, CoreError> {
    let (bytes, limits) = (bytes.to_vec(), limits.clone());
    tokio::task::spawn_blocking(move || read_rows(&bytes, &limits, required))
        .await
        .map_err(|e| CoreError::Spreadsheet(format!("表格解析中断（{e}）")))?
}

fn read_rows(bytes: &[u8], limits: &UploadLimits, required: &[&str]) -> Result<Vec<SheetRow>, CoreError> {
    let Grid { first_row, rows: grid } = xlsx_grid(bytes, limits)?;
    let mut rows = grid.iter();
    let header: Vec<String> = rows.next().map(|r| r.iter().map(cell_text).collect()).unwrap_or_default();
    let missing: Vec<&str> = required.iter().filter(|h| !header.iter().any(|x| x == *h)).copied().collect();
    if !missing.is_empty() {
        return Err(CoreError::Spreadsheet(format!("第 {} 行表头缺少列：{}", first_row + 1, missing.join("、"))));
    }
    let mut out = Vec::new();
    for (i, r) in rows.enumerate() {
        let mut map = HashMap::new();
        let mut raw = Vec::new();
        for (h, c) in header.iter().zip(r.iter()) {
            map.insert(h.clone(), cell_text(c));
            raw.push((h.clone(), c.clone()));
        }
        if map.values().all(|v| v.is_empty()) {
            continue;
        }
        out.push((first_row + i + 2, map, raw));
    }
    if out.is_empty() {
        // Nothing to import is the uploader's mistake (wrong sheet, template not filled in),
        // not a successful import of nothing.
        return Err(CoreError::invalid("import.empty", "表格中没有数据（表头下方没有任何一行），请按模板填写后再导入"));
    }
    Ok(out)
}

fn get<'a>(m: &'a HashMap<String, String>, k: &str) -> &'a str {
    m.get(k).map(String::as_str).unwrap_or("")
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn parse_f64(field: &str, s: &str) -> Result<Option<f64>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<f64>().map(Some).map_err(|_| format!("{field}“{s}”不是数字"))
}

fn workbook_bytes(headers: &[&str], rows: Vec<Vec<String>>) -> Result<Vec<u8>, CoreError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let ws = wb.add_worksheet();
    let err = |e: rust_xlsxwriter::XlsxError| CoreError::Spreadsheet(e.to_string());
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold).map_err(err)?;
        ws.set_column_width(c as u16, 16).map_err(err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // Text cells: long digit strings (身份证号) must not become floats in Excel.
            ws.write_string_with_format(r as u32 + 1, c as u16, v, &text).map_err(err)?;
        }
    }
    wb.save_to_buffer().map_err(err)
}

pub fn export_orgs(orgs: &[Org]) -> Result<Vec<u8>, CoreError> {
    let by_id: HashMap<i64, &Org> = orgs.iter().map(|o| (o.id, o)).collect();
    let rows = orgs
        .iter()
        .map(|o| {
            vec![
                o.code.clone(),
                o.name.clone(),
                o.org_type.clone(),
                o.parent_id.and_then(|p| by_id.get(&p)).map(|p| p.code.clone()).unwrap_or_default(),
                o.leader_name.clone().unwrap_or_default(),
                o.contact_phone.clone().unwrap_or_default(),
                o.address.clone().unwrap_or_default(),
                o.lat.map(|v| v.to_string()).unwrap_or_default(),
                o.lng.map(|v| v.to_string()).unwrap_or_default(),
                o.sort_order.to_string(),
                if o.status == "active" { "正常".into() } else { "已撤销".into() },
            ]
        })
        .collect();
    workbook_bytes(&ORG_HEADERS, rows)
}

/// Imports organisations keyed by 组织编码: new codes are created under 上级组织编码 (an existing
/// organisation, or one earlier in the file); known codes are updated (and moved when the parent
/// changed). Every touched organisation must be within the caller's `OrgManage` scope.
pub async fn import_orgs(repo: &OrgRepo, who: &Principal, bytes: &[u8], limits: &UploadLimits) -> Result<ImportReport, CoreError> {
    let rows = parse_rows(bytes, limits, &ORG_HEADERS[..4]).await?;
    let mut report = ImportReport::default();
    // Pass 1: check everything. `planned` tracks codes created earlier in the file.
    let mut planned: HashMap<String, Option<String>> = HashMap::new(); // code -> anchor path
    let mut plan = Vec::new();
    for (row, m, _) in &rows {
        let input = OrgInput {
            name: get(m, "组织名称").into(),
            org_type: get(m, "组织类型").into(),
            code: get(m, "组织编码").into(),
            leader_name: some(get(m, "负责人")),
            contact_phone: some(get(m, "联系电话")),
            address: some(get(m, "地址")),
            lat: None,
            lng: None,
            sort_order: 0,
        };
        let mut fail = |message: String| report.errors.push(RowError { row: *row, message });
        let mut input = match input.validated() {
            Ok(i) => i,
            Err(e) => {
                fail(e.to_string());
                continue;
            }
        };
        match (parse_f64("纬度", get(m, "纬度")), parse_f64("经度", get(m, "经度")), get(m, "排序").parse::<i64>().or_else(|_| if get(m, "排序").is_empty() { Ok(0) } else { Err(()) })) {
            (Ok(lat), Ok(lng), Ok(sort)) => {
                input.lat = lat;
                input.lng = lng;
                input.sort_order = sort;
            }
            (Err(e), _, _) | (_, Err(e), _) => {
                fail(e);
                continue;
            }
            (_, _, Err(())) => {
                fail(format!("排序“{}”不是整数", get(m, "排序")));
                continue;
            }
        }
        if let Err(e) = input.validated() {
            fail(e.to_string());
            continue;
        }
        let parent_code = get(m, "上级组织编码").to_string();
        if planned.contains_key(&input.code) {
            fail(format!("组织编码“{}”在文件中重复", input.code));
            continue;
        }
        let existing = repo.get_by_code(&input.code).await?;
        // Where the row puts the organisation: under an existing organisation, under one created
        // earlier in this file (known by the path of its nearest existing ancestor), or at the top.
        let parent = if parent_code.is_empty() { None } else { repo.get_by_code(&parent_code).await? };
        if let Some(p) = &parent {
            if p.status != "active" {
                fail(format!("上级组织“{}”已撤销", p.name));
                continue;
            }
        }
        let anchor: Option<String> = match (&parent, parent_code.is_empty()) {
            (Some(p), _) => Some(p.path.clone()),
            (None, true) => None,
            (None, false) => match planned.get(&parent_code) {
                Some(a) => a.clone(),
                None => {
                    fail(format!("上级组织编码“{parent_code}”不存在（须已存在或在本文件前面的行中）"));
                    continue;
                }
            },
        };
        // Rights: to place something under the anchor (or create a root), and for an existing
        // organisation also to edit it and — when it moves — to take it from its current parent,
        // exactly as the move endpoint asks.
        let may_place = match &anchor {
            Some(a) => who.can(Action::OrgManage, a),
            None => who.can_anywhere(Action::CreateRootOrg),
        };
        let allowed = match &existing {
            None => may_place,
            Some(e) => {
                let moves = match &parent {
                    Some(p) => Some(p.id) != e.parent_id,
                    None => !parent_code.is_empty() || e.parent_id.is_some(),
                };
                let may_take = match e.parent_id {
                    Some(pid) => who.can(Action::OrgManage, &repo.get(pid).await?.path),
                    None => who.can_anywhere(Action::CreateRootOrg),
                };
                who.can(Action::OrgManage, &e.path) && (!moves || (may_place && may_take))
            }
        };
        if !allowed {
            fail(format!("无权在该位置导入组织“{}”", input.name));
            continue;
        }
        if let (Some(e), Some(a)) = (&existing, &anchor) {
            if a.starts_with(&e.path) {
                fail("不能把组织移动到它自己或它的下级组织之下".into());
                continue;
            }
        }
        // Children created later in the file hang under this row: their anchor is this
        // organisation's path when it exists, else this row's anchor.
        planned.insert(input.code.clone(), existing.as_ref().map(|e| e.path.clone()).or(anchor));
        plan.push((input, parent_code, existing));
    }
    if !report.errors.is_empty() {
        return Ok(report);
    }
    // Pass 2: write, in file order (parents before children).
    for (input, parent_code, existing) in plan {
        let parent_id = if parent_code.is_empty() { None } else { repo.get_by_code(&parent_code).await?.map(|p| p.id) };
        match existing {
            Some(e) => {
                repo.update(e.id, &input).await?;
                if let Some(pid) = parent_id.filter(|p| Some(*p) != e.parent_id) {
                    repo.move_to(e.id, pid).await?;
                }
                report.updated += 1;
            }
            None => {
                repo.create(parent_id, &input).await?;
                report.inserted += 1;
            }
        }
    }
    Ok(report)
}

pub fn export_members(members: &[Member], org_codes: &HashMap<i64, String>) -> Result<Vec<u8>, CoreError> {
    let rows = members
        .iter()
        .map(|m| {
            let o = |v: &Option<String>| v.clone().unwrap_or_default();
            vec![
                m.name.clone(),
                o(&m.gender),
                o(&m.ethnicity),
                o(&m.birth_date),
                o(&m.id_number),
                o(&m.education),
                o(&m.phone),
                o(&m.join_date),
                o(&m.full_member_date),
                m.status.clone(),
                org_codes.get(&m.org_id).cloned().unwrap_or_default(),
                m.org_name.clone(),
                o(&m.party_position),
                o(&m.work_unit),
                o(&m.remarks),
            ]
        })
        .collect();
    workbook_bytes(&MEMBER_HEADERS, rows)
}

/// Imports members keyed by 身份证号 (required here, so a re-import updates instead of
/// duplicating). 所在党组织编码 names the organisation; when blank, `default_org` is used.
pub async fn import_members(
    orgs: &OrgRepo,
    members: &MemberRepo,
    who: &Principal,
    bytes: &[u8],
    default_org: Option<&Org>,
    limits: &UploadLimits,
) -> Result<ImportReport, CoreError> {
    let rows = parse_rows(bytes, limits, &["姓名", "身份证号"]).await?;
    let mut report = ImportReport::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut plan = Vec::new();
    for (row, m, raw) in &rows {
        let mut fail = |message: String| report.errors.push(RowError { row: *row, message });
        if raw.iter().any(|(h, c)| h == "身份证号" && matches!(c, Data::Float(_) | Data::Int(_))) {
            fail("身份证号请以文本格式填写（数字格式会丢失末位精度）".into());
            continue;
        }
        if get(m, "身份证号").is_empty() {
            fail("导入时身份证号不能为空（用于识别党员，避免重复导入）".into());
            continue;
        }
        let org_code = get(m, "所在党组织编码");
        let org = if org_code.is_empty() {
            default_org.cloned()
        } else {
            orgs.get_by_code(org_code).await?
        };
        let Some(org) = org else {
            fail(if org_code.is_empty() { "请填写所在党组织编码".to_string() } else { format!("所在党组织编码“{org_code}”不存在") });
            continue;
        };
        if !who.can(Action::MemberManage, &org.path) {
            fail(format!("无权向“{}”导入党员", org.name));
            continue;
        }
        let input = MemberInput {
            name: get(m, "姓名").into(),
            gender: some(get(m, "性别")),
            ethnicity: some(get(m, "民族")),
            birth_date: some(get(m, "出生日期")),
            id_number: some(get(m, "身份证号")),
            phone: some(get(m, "手机号")),
            education: some(get(m, "学历")),
            join_date: some(get(m, "入党日期")),
            full_member_date: some(get(m, "转正日期")),
            status: get(m, "党员状态").into(),
            org_id: org.id,
            party_position: some(get(m, "党内职务")),
            work_unit: some(get(m, "工作单位")),
            remarks: some(get(m, "备注")),
        };
        let input = match input.validated() {
            Ok(i) => i,
            Err(e) => {
                fail(e.to_string());
                continue;
            }
        };
        let idn = input.id_number.clone().unwrap_or_default();
        if let Some(first) = seen.insert(idn.clone(), *row) {
            fail(format!("身份证号与第 {first} 行重复"));
            continue;
        }
        let existing = members.find_by_id_number(&idn).await?;
        if let Some(e) = &existing {
            if !who.can(Action::MemberManage, &e.org_path) {
                fail(format!("该身份证号已登记在“{}”，无权修改", e.org_name));
                continue;
            }
        }
        plan.push((input, existing.map(|e| e.id)));
    }
    if !report.errors.is_empty() {
        return Ok(report);
    }
    for (input, existing) in plan {
        match existing {
            Some(id) => {
                members.update(id, &input).await?;
                report.updated += 1;
            }
            None => {
                members.create(&input).await?;
                report.inserted += 1;
            }
        }
    }
    Ok(report)
}

/// The first sheet as rows of text (header included), for checks and previews.
pub fn read_sheet(bytes: &[u8]) -> Result<Vec<Vec<String>>, CoreError> {
    Ok(xlsx_grid(bytes, &UploadLimits::default())?.rows.iter().map(|r| r.iter().map(cell_text).collect()).collect())
}

/// Builds an xlsx from header + rows of text (tests and templates).
pub fn sheet_from_rows(headers: &[&str], rows: &[Vec<&str>]) -> Result<Vec<u8>, CoreError> {
    workbook_bytes(headers, rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect())
}

pub const ORG_IMPORT_HEADERS: &[&str] = &ORG_HEADERS;
pub const MEMBER_IMPORT_HEADERS: &[&str] = &MEMBER_HEADERS;
