//! Spreadsheets the portal hands out, as CSV and as Excel workbooks, whose cells cannot run
//! as formulas.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

use crate::{
    clock,
    error::{AppError, Result},
};

/// A spreadsheet cell that cannot be read as a formula: Excel and LibreOffice run cells
/// starting =, +, - or @ (and tab or carriage return) as formulas.
pub fn csv_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    }
}

/// A CSV download of `rows`, the first of them its header, that Excel opens as UTF-8.
pub fn csv_response(filename: &str, rows: Vec<Vec<String>>) -> Result<Response> {
    let mut writer = csv::Writer::from_writer(vec![]);
    for row in rows {
        writer
            .write_record(row.iter().map(|c| csv_cell(c)))
            .map_err(|err| AppError::Other(err.into()))?;
    }
    let mut bytes = b"\xEF\xBB\xBF".to_vec(); // so Excel reads it as UTF-8
    bytes.extend(
        writer
            .into_inner()
            .map_err(|err| AppError::Other(anyhow::anyhow!("{err}")))?,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// An Excel workbook of `rows`, the first of them its header in bold. Every cell is written
/// as a string, never a formula, and with the CSV's guard: a cell copied out of it, or the
/// workbook saved as CSV, does not run either.
pub fn xlsx_response(filename: &str, sheet: &str, rows: Vec<Vec<String>>) -> Result<Response> {
    let xlsx = |err: rust_xlsxwriter::XlsxError| AppError::Other(err.into());
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name(sheet).map_err(xlsx)?;
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).map_err(|err| AppError::Other(err.into()))?;
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).map_err(|err| AppError::Other(err.into()))?;
            if r == 0 {
                worksheet
                    .write_string_with_format(r, c, csv_cell(cell), &bold)
                    .map_err(xlsx)?;
            } else {
                worksheet.write_string(r, c, csv_cell(cell)).map_err(xlsx)?;
            }
        }
    }
    worksheet.autofit();
    let bytes = workbook.save_to_buffer().map_err(xlsx)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Timestamps in exports: ISO 8601 in UK time, which spreadsheets sort correctly.
pub fn iso_uk(at: time::OffsetDateTime) -> String {
    let uk = clock::uk(at);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        uk.year(),
        u8::from(uk.month()),
        uk.day(),
        uk.hour(),
        uk.minute(),
        uk.second()
    )
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formula_like_cells_are_neutralised() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+44 1234"), "'+44 1234");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("\t=1+1"), "'\t=1+1");
        assert_eq!(csv_cell("\r=1+1"), "'\r=1+1");
        assert_eq!(csv_cell("Sam Taylor"), "Sam Taylor");
    }
}
