//! The first sheet of an .xlsx as a grid, read cell by cell (calamine's streaming reader) so a
//! far cell is refused when it is met instead of sizing a grid from the sheet's declared
//! dimension.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::{check_zip, Budget, UploadError, UploadLimits};

/// The non-empty part of a sheet: `rows[0]` is sheet row `first_row` (0-based).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    pub first_row: usize,
    pub rows: Vec<Vec<Data>>,
}

/// Reads the first sheet of an .xlsx within `limits`: the container is checked first, then at
/// most `max_rows` + 1 rows (the header) and `max_cols` columns and `max_cells` non-empty cells.
pub fn xlsx_grid(bytes: &[u8], limits: &UploadLimits) -> Result<Grid, UploadError> {
    let budget = Budget::start(limits);
    check_zip(bytes, "xlsx", limits, &budget)?;
    let unreadable = |e: calamine::XlsxError| UploadError::Unreadable { detail: e.to_string() };
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = wb.sheet_names().first().cloned().ok_or(UploadError::NoSheet)?;
    let mut reader = wb.worksheet_cells_reader(&sheet).map_err(unreadable)?;
    let mut cells: Vec<((u32, u32), Data)> = Vec::new();
    let mut first_row: Option<u32> = None;
    let mut seen = 0usize;
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (r, c) = cell.get_position();
        // Rows count from the first used row (the header), wherever the sheet puts it.
        let top = *first_row.get_or_insert(r);
        if r.saturating_sub(top) > limits.max_rows || c >= limits.max_cols {
            return Err(UploadError::SheetTooLarge { cell: cell_name(r, c), max_rows: limits.max_rows, max_cols: limits.max_cols });
        }
        seen += 1;
        if seen.is_multiple_of(4096) {
            budget.check()?;
        }
        let value = Data::from(cell.get_value().clone());
        if matches!(value, Data::Empty) {
            continue;
        }
        if cells.len() >= limits.max_cells {
            return Err(UploadError::TooManyCells { max: limits.max_cells });
        }
        first_row = Some(top.min(r));
        cells.push(((r, c), value));
    }
    let Some(first) = cells.iter().map(|((r, _), _)| *r).min() else { return Ok(Grid::default()) };
    let last = cells.iter().map(|((r, _), _)| *r).max().unwrap_or(first);
    let width = cells.iter().map(|((_, c), _)| *c as usize + 1).max().unwrap_or(0);
    let mut rows = vec![vec![Data::Empty; width]; (last - first) as usize + 1];
    for ((r, c), v) in cells {
        rows[(r - first) as usize][c as usize] = v;
    }
    Ok(Grid { first_row: first as usize, rows })
}

/// `A1`-style name of a 0-based cell position, for messages.
fn cell_name(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col + 1;
    while c > 0 {
        let rem = (c - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        c = (c - 1) / 26;
    }
    letters.iter().rev().collect::<String>() + &(row + 1).to_string()
}

#[cfg(test)]
mod tests {
    use rust_xlsxwriter::Workbook;

    use super::*;

    fn book(cells: &[(u32, u16, &str)]) -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (r, c, v) in cells {
            ws.write_string(*r, *c, *v).unwrap();
        }
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn reads_the_used_part_of_the_first_sheet() {
        let g = xlsx_grid(&book(&[(2, 0, "问题"), (2, 1, "答案"), (3, 1, "二")]), &UploadLimits::default()).unwrap();
        assert_eq!(g.first_row, 2);
        assert_eq!(g.rows, vec![vec![Data::String("问题".into()), Data::String("答案".into())], vec![Data::Empty, Data::String("二".into())]]);
    }

    #[test]
    fn a_far_cell_is_refused_without_allocating_the_grid() {
        let far = book(&[(0, 0, "问题"), (1_048_575, 16_383, "x")]);
        assert!(far.len() < 10_000, "{}", far.len());
        let err = xlsx_grid(&far, &UploadLimits::default()).unwrap_err();
        assert_eq!(err, UploadError::SheetTooLarge { cell: "XFD1048576".into(), max_rows: 20_000, max_cols: 64 });
        assert_eq!(err.to_string(), "表格过大：单元格 XFD1048576 超出范围（最多 20000 行、64 列）");
    }

    #[test]
    fn rows_count_from_the_header_and_cells_are_capped() {
        let limits = UploadLimits { max_rows: 2, max_cells: 5, ..UploadLimits::default() };
        // Header on sheet row 10, two rows below it: within the limit wherever the header is.
        assert!(xlsx_grid(&book(&[(10, 0, "h"), (11, 0, "a"), (12, 0, "b")]), &limits).is_ok());
        assert_eq!(xlsx_grid(&book(&[(10, 0, "h"), (11, 0, "a"), (13, 0, "c")]), &limits).unwrap_err().code(), "upload.sheet_too_large");
        let six: Vec<(u32, u16, &str)> = (0..3).flat_map(|r| [(r, 0, "x"), (r, 1, "y")]).collect();
        assert_eq!(xlsx_grid(&book(&six), &limits).unwrap_err(), UploadError::TooManyCells { max: 5 });
    }

    #[test]
    fn names_of_cells() {
        assert_eq!(cell_name(0, 0), "A1");
        assert_eq!(cell_name(9, 25), "Z10");
        assert_eq!(cell_name(0, 26), "AA1");
        assert_eq!(cell_name(1_048_575, 16_383), "XFD1048576");
    }
}
