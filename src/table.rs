//! Spreadsheets as plain rows of text: `.xlsx` (first sheet) and `.csv` (UTF-8, with or
//! without BOM) in, `.xlsx` and `.csv` out. Used by the bank template and the roster.

use anyhow::{Context, bail};
use calamine::{Data, Reader};
use std::collections::HashMap;
use std::path::Path;

/// A spreadsheet read as text: the header row and the data rows with their row numbers.
#[derive(Debug)]
pub struct Table {
    /// Column name → index, names trimmed.
    pub columns: HashMap<String, usize>,
    pub rows: Vec<Row>,
}

#[derive(Debug)]
pub struct Row {
    /// The row number people see in Excel (the header is row 1).
    pub number: usize,
    pub cells: Vec<String>,
}

impl Table {
    /// The text of `column` in `row`, trimmed; empty when the column or cell is absent.
    pub fn get<'a>(&self, row: &'a Row, column: &str) -> &'a str {
        self.columns
            .get(column)
            .and_then(|&i| row.cells.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    /// Names of `required` columns the header lacks.
    pub fn missing_columns(&self, required: &[&str]) -> Vec<String> {
        required
            .iter()
            .filter(|c| !self.columns.contains_key(**c))
            .map(|c| c.to_string())
            .collect()
    }
}

/// Reads `.xlsx`, `.xls`, `.ods` or `.csv` by extension. Wholly empty rows are skipped.
pub fn read(path: &Path) -> anyhow::Result<Table> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let raw: Vec<Vec<String>> = match ext.as_str() {
        "csv" => read_csv(path)?,
        "xlsx" | "xlsm" | "xls" | "ods" => read_workbook(path)?,
        other => bail!("不支持的文件类型「.{other}」：请使用 .xlsx 或 .csv"),
    };
    let mut rows = raw.into_iter().enumerate();
    let Some((_, header)) = rows.next() else {
        bail!("{}：文件为空，缺少表头行", path.display());
    };
    let columns = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.trim().is_empty())
        .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_string(), i))
        .collect();
    let rows = rows
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(|(i, cells)| Row {
            number: i + 1,
            cells,
        })
        .collect();
    Ok(Table { columns, rows })
}

fn read_csv(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("无法打开 {}", path.display()))?;
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("{} 第 {} 行无法解析", path.display(), i + 1))?;
        out.push(record.iter().map(String::from).collect());
    }
    Ok(out)
}

/// The largest sheet read: a roster of an agency or a bank fits many times over, and a file
/// claiming more (one cell at XFD1048576 makes a sheet of 17 billion cells) is refused before
/// anything the size of the claim is allocated.
pub const MAX_ROWS: u32 = 100_000;
pub const MAX_COLUMNS: u32 = 200;

fn too_large(path: &Path, row: u32, col: u32) -> anyhow::Error {
    anyhow::anyhow!(
        "{}：表格过大（第 {} 行第 {} 列有内容）：最多 {MAX_ROWS} 行、{MAX_COLUMNS} 列，请删除多余的行列后重试",
        path.display(),
        row + 1,
        col + 1
    )
}

/// An `.xlsx` sheet read cell by cell (never as the rectangle its dimensions claim).
fn read_xlsx_cells(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(path)
        .with_context(|| format!("无法打开 {}（不是有效的 Excel 文件？）", path.display()))?;
    let name = book
        .sheet_names()
        .first()
        .cloned()
        .context("工作簿中没有工作表")?;
    let mut cells = book
        .worksheet_cells_reader(&name)
        .with_context(|| format!("无法读取 {} 的第一个工作表", path.display()))?;
    let mut out: Vec<Vec<String>> = Vec::new();
    while let Some(cell) = cells
        .next_cell()
        .with_context(|| format!("无法读取 {} 的第一个工作表", path.display()))?
    {
        let (row, col) = cell.get_position();
        if row >= MAX_ROWS || col >= MAX_COLUMNS {
            return Err(too_large(path, row, col));
        }
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if text.is_empty() {
            continue;
        }
        let (row, col) = (row as usize, col as usize);
        if out.len() <= row {
            out.resize(row + 1, Vec::new());
        }
        if out[row].len() <= col {
            out[row].resize(col + 1, String::new());
        }
        out[row][col] = text;
    }
    Ok(out)
}

fn read_workbook(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let is_xlsx = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx") || e.eq_ignore_ascii_case("xlsm"));
    let mut out = if is_xlsx {
        read_xlsx_cells(path)?
    } else {
        let mut workbook = calamine::open_workbook_auto(path)
            .with_context(|| format!("无法打开 {}（不是有效的 Excel 文件？）", path.display()))?;
        let range = workbook
            .worksheet_range_at(0)
            .context("工作簿中没有工作表")?
            .with_context(|| format!("无法读取 {} 的第一个工作表", path.display()))?;
        if let Some((r, c)) = range.end()
            && (r >= MAX_ROWS || c >= MAX_COLUMNS)
        {
            return Err(too_large(path, r, c));
        }
        // Rows are numbered from the sheet's first used row; keep Excel's numbering.
        let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
        let mut out = vec![Vec::new(); first_row];
        for row in range.rows() {
            out.push(row.iter().map(cell_text).collect());
        }
        out
    };
    // Rows may end early where their last cells are empty; the readers index by column name.
    let width = out.iter().map(Vec::len).max().unwrap_or(0);
    for r in &mut out {
        r.resize(width, String::new());
    }
    // Leading blank rows would shift the header; drop them but keep numbering.
    let header_at = out
        .iter()
        .position(|r| r.iter().any(|c| !c.trim().is_empty()));
    match header_at {
        Some(0) | None => Ok(out),
        Some(n) => bail!("{}：表头应在第 1 行，实际在第 {} 行", path.display(), n + 1),
    }
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => crate::domain::question::format_number(*f),
        Data::Bool(b) => if *b { "正确" } else { "错误" }.to_string(),
        Data::DateTime(d) => excel_serial_to_date(d.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERR:{e}"),
    }
}

/// Excel stores dates as days since 1899-12-30.
fn excel_serial_to_date(serial: f64) -> String {
    let epoch = time::macros::date!(1899 - 12 - 30);
    match epoch.checked_add(time::Duration::days(serial.floor() as i64)) {
        Some(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()),
        None => serial.to_string(),
    }
}

/// Writes a header and rows to `.xlsx` or `.csv`, by the extension of `path`.
pub fn write(path: &Path, header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "csv" => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("无法写入 {}", path.display()))?;
            // A BOM makes Excel on Windows open UTF-8 CSV as UTF-8.
            std::io::Write::write_all(&mut file, "\u{feff}".as_bytes())?;
            let mut w = csv::Writer::from_writer(file);
            w.write_record(header)?;
            for r in rows {
                w.write_record(r)?;
            }
            w.flush()?;
        }
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (c, h) in header.iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, *h, &bold)?;
                sheet.set_column_width(c as u16, 14)?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    // Everything as text: "60" stays "60", "2022-05-01" stays a date string.
                    sheet.write_string((r + 1) as u32, c as u16, v)?;
                }
            }
            book.save(path)
                .with_context(|| format!("无法写入 {}", path.display()))?;
        }
        other => bail!("不支持的导出格式「.{other}」：请使用 .xlsx 或 .csv"),
    }
    Ok(())
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn a_cell_at_the_far_corner_is_refused_without_allocating_the_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corner.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(1_048_575, 16_383, "x").unwrap();
        book.save(&path).unwrap();
        let err = super::read(&path).unwrap_err().to_string();
        assert!(err.contains("表格过大") && err.contains("1048576"), "{err}");

        // A normal sheet with a gap reads as before, its rows numbered as Excel shows them.
        let path = dir.path().join("ok.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "姓名").unwrap();
        sheet.write_string(0, 1, "工号").unwrap();
        sheet.write_string(1, 0, "甲").unwrap();
        sheet.write_number(3, 1, 42.0).unwrap();
        book.save(&path).unwrap();
        let t = super::read(&path).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.get(&t.rows[0], "姓名"), "甲");
        assert_eq!(t.rows[1].number, 4);
        assert_eq!(t.get(&t.rows[1], "工号"), "42");
    }
}
