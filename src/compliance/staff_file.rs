//! A staff list as a person uploads it: a CSV file (UTF-8 with or without a BOM, or the
//! Windows-1252 that Excel's plain "CSV" writes) or an Excel workbook (XLSX), read into the
//! UTF-8 CSV text the import works from. A workbook becomes one CSV line per sheet row, so
//! line numbers stay the row numbers a person sees in Excel. The header row need not be the
//! first: MIS reports often put a title above it.

use std::io::{Cursor, Read};

/// The largest upload taken, and the most a workbook may unpack to.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
const MAX_UNPACKED: u64 = 50 * 1024 * 1024;
/// The most text a staff list may come to, as CSV.
pub const MAX_TEXT: usize = 2 * 1024 * 1024;
/// More rows than any school's staff list.
pub const MAX_ROWS: usize = 20_000;
const MAX_COLUMNS: u32 = 200;
/// How far down a header row may sit below a title.
const HEADER_SEARCH: usize = 10;

/// The file as UTF-8 CSV text, and what was done to read it, said in the preview.
#[derive(Debug)]
pub struct Decoded {
    pub csv: String,
    pub note: Option<String>,
}

const SAVE_AS_UTF8: &str =
    "In Excel, choose Save As, then \"CSV UTF-8 (Comma delimited)\", and upload that file";

/// Reads an uploaded file, or says why it cannot be read.
pub fn read(bytes: &[u8]) -> Result<Decoded, String> {
    let decoded = decode(bytes)?;
    if decoded.csv.len() > MAX_TEXT {
        return Err(format!(
            "The staff list comes to more than {} MB of text: upload the staff list alone",
            MAX_TEXT / 1024 / 1024
        ));
    }
    Ok(decoded)
}

fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "The file is larger than {} MB: upload the staff list alone",
            MAX_BYTES / 1024 / 1024
        ));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Decoded {
            csv: xlsx_to_csv(bytes)?,
            note: None,
        });
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(format!(
            "This is an older Excel file (.xls). {}",
            "In Excel, choose Save As, then \"Excel Workbook (.xlsx)\", and upload that file"
        ));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(format!("The file is saved as UTF-16 text. {SAVE_AS_UTF8}"));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Decoded {
            csv: text.to_owned(),
            note: None,
        });
    }
    // Not UTF-8: Excel's plain "CSV (Comma delimited)" on a UK Windows PC writes
    // Windows-1252, where é is one byte. Every byte means something there, so the text
    // is converted, but control characters other than line ends and tabs mean it was
    // something else altogether.
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t'))
    {
        return Err(format!(
            "The file is not text the portal can read. {SAVE_AS_UTF8}"
        ));
    }
    Ok(Decoded {
        csv: text.into_owned(),
        note: Some(
            "The file was saved as Windows-1252 text, not UTF-8: it was converted. Check that names with accents look right."
                .to_owned(),
        ),
    })
}

/// The text of the first sheet of a workbook, as CSV.
fn xlsx_to_csv(bytes: &[u8]) -> Result<String, String> {
    use calamine::{DataRef, Reader, Xlsx};
    let unreadable = |_| {
        "The Excel file cannot be read: save it again in Excel and upload it once more".to_owned()
    };
    check_unpacked_size(bytes)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| "The Excel file has no sheets".to_owned())?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let mut rows: Vec<Vec<(u32, String)>> = vec![];
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        let row = usize::try_from(row).unwrap_or(usize::MAX);
        if row >= MAX_ROWS + HEADER_SEARCH {
            return Err(format!(
                "The sheet has more than {MAX_ROWS} rows: upload the staff list alone"
            ));
        }
        if column >= MAX_COLUMNS {
            return Err(format!(
                "The sheet has more than {MAX_COLUMNS} columns: upload the staff list alone"
            ));
        }
        let text = match cell.get_value() {
            DataRef::Empty | DataRef::Error(_) => continue,
            DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
                text.clone()
            }
            DataRef::SharedString(text) => (*text).to_owned(),
            DataRef::Int(n) => n.to_string(),
            DataRef::Float(n) => n.to_string(),
            DataRef::Bool(b) => b.to_string(),
            DataRef::DateTime(date) => excel_date(date.as_f64()).unwrap_or_default(),
        };
        if rows.len() <= row {
            rows.resize_with(row + 1, Vec::new);
        }
        // A line break inside a cell would move every later line number.
        rows[row].push((column, text.replace(['\r', '\n'], " ")));
    }
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(vec![]);
    for row in rows {
        let width = row.iter().map(|(column, _)| column + 1).max().unwrap_or(0);
        let mut line = vec![String::new(); width as usize];
        for (column, text) in row {
            line[column as usize] = text;
        }
        // A blank sheet row stays a line (`""`), so later lines keep their row numbers.
        if line.is_empty() {
            line.push(String::new());
        }
        out.write_record(&line).map_err(|err| err.to_string())?;
    }
    let bytes = out.into_inner().map_err(|err| err.to_string())?;
    String::from_utf8(bytes).map_err(|err| err.to_string())
}

/// Refuses a workbook that unpacks to more than `MAX_UNPACKED`, counting what is actually
/// unpacked rather than trusting the sizes it declares.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), String> {
    let too_big = || {
        format!(
            "The Excel file unpacks to more than {} MB: upload the staff list alone",
            MAX_UNPACKED / 1024 / 1024
        )
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| "The Excel file cannot be read: it is damaged or not a workbook".to_owned())?;
    let mut total = 0u64;
    for index in 0..zip.len() {
        let entry = zip
            .by_index(index)
            .map_err(|_| "The Excel file cannot be read: it is damaged".to_owned())?;
        let unpacked = std::io::copy(
            &mut entry.take(MAX_UNPACKED - total + 1),
            &mut std::io::sink(),
        )
        .map_err(|_| "The Excel file cannot be read: it is damaged".to_owned())?;
        total += unpacked;
        if total > MAX_UNPACKED {
            return Err(too_big());
        }
    }
    Ok(())
}

/// An Excel date serial (days since 30 December 1899) as YYYY-MM-DD.
fn excel_date(serial: f64) -> Option<String> {
    let epoch = time::Date::from_calendar_date(1899, time::Month::December, 30).ok()?;
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let date = epoch.checked_add(time::Duration::days(serial.floor() as i64))?;
    Some(date.to_string())
}

/// A table read from the CSV text: the header row and the rows under it, each with the
/// line it is on, blank lines counted, as a text editor or Excel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub header_line: usize,
    pub headers: Vec<String>,
    pub rows: Vec<(usize, Vec<String>)>,
    /// Lines that cannot be read as CSV at all, with why.
    pub unreadable: Vec<(usize, String)>,
}

/// The table in the CSV text. The header row is the first of the first few rows in which
/// `is_header` knows at least two of the names; otherwise the first row.
pub fn table(text: &str, is_header: impl Fn(&str) -> bool) -> Result<Table, String> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    // csv reports where it stood before skipping blank lines: step over them first.
    let line_of = |byte: u64| {
        let byte = usize::try_from(byte).unwrap_or(0);
        let start = byte
            + text.get(byte..).map_or(0, |rest| {
                rest.len() - rest.trim_start_matches(['\r', '\n']).len()
            });
        line_starts.partition_point(|line_start| *line_start <= start)
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records: Vec<(usize, Vec<String>)> = vec![];
    let mut unreadable = vec![];
    for (index, record) in reader.records().enumerate() {
        if records.len() > MAX_ROWS + HEADER_SEARCH {
            return Err(format!(
                "The file has more than {MAX_ROWS} rows: upload the staff list alone"
            ));
        }
        match record {
            Ok(record) => {
                let line = record.position().map_or(index + 1, |p| line_of(p.byte()));
                records.push((line, record.iter().map(str::to_owned).collect()));
            }
            Err(err) => {
                let line = err.position().map_or(index + 1, |p| line_of(p.byte()));
                unreadable.push((line, format!("cannot be read: {err}")));
            }
        }
    }
    records.retain(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    let at = records
        .iter()
        .take(HEADER_SEARCH)
        .position(|(_, cells)| cells.iter().filter(|c| is_header(c)).count() >= 2)
        .unwrap_or(0);
    let mut records = records.into_iter().skip(at);
    let (header_line, headers) = records
        .next()
        .ok_or_else(|| "The file is empty".to_owned())?;
    Ok(Table {
        header_line,
        headers,
        rows: records.collect(),
        unreadable: unreadable
            .into_iter()
            .filter(|(line, _)| *line > header_line)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_is_converted_and_said_and_binary_is_refused() {
        let read = read(b"Forename,Surname\r\nAm\xE9lie,Dupont\r\n").unwrap();
        assert_eq!(read.csv, "Forename,Surname\r\nAmélie,Dupont\r\n");
        assert!(read.note.unwrap().contains("Windows-1252"));
        assert!(
            super::read(b"\x00\x01\x02\xff")
                .unwrap_err()
                .contains("not text")
        );
        assert!(
            super::read(b"\xFF\xFEa\x00")
                .unwrap_err()
                .contains("UTF-16")
        );
        assert_eq!(super::read(b"\xEF\xBB\xBFa,b").unwrap().csv, "a,b");
    }

    #[test]
    fn the_header_row_is_found_below_a_title_and_lines_count_blank_ones() {
        let text = "Staff list,,\n\nForename,Surname,Email\r\nSam,Taylor,sam@x.example\r\n\r\nJo,Bloggs,jo@x.example\n";
        let table = table(text, |h| {
            ["forename", "surname", "email"].contains(&h.to_lowercase().as_str())
        })
        .unwrap();
        assert_eq!(table.header_line, 3);
        assert_eq!(table.headers, ["Forename", "Surname", "Email"]);
        let lines: Vec<usize> = table.rows.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [4, 6]);
    }

    #[test]
    fn a_workbook_that_unpacks_too_far_or_a_file_too_long_is_refused() {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(Cursor::new(vec![]));
        zip.start_file(
            "xl/worksheets/sheet1.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let block = vec![b' '; 1024 * 1024];
        for _ in 0..=MAX_UNPACKED / (1024 * 1024) {
            zip.write_all(&block).unwrap();
        }
        let bomb = zip.finish().unwrap().into_inner();
        assert!(bomb.len() < MAX_BYTES, "small when packed: {}", bomb.len());
        assert!(
            read(&bomb)
                .unwrap_err()
                .contains("unpacks to more than 50 MB")
        );
        let long = "Email,Name\n".to_owned() + &"a@x.example,A B\n".repeat(MAX_ROWS + 20);
        assert!(
            table(&long, |_| true)
                .unwrap_err()
                .contains("more than 20000 rows")
        );
    }

    #[test]
    fn excel_serial_dates_are_calendar_dates() {
        assert_eq!(excel_date(45_901.0).as_deref(), Some("2025-09-01"));
        assert_eq!(excel_date(-3.0), None);
    }
}
